/**
 * The keyboard of a WAI-ARIA tab list (automatic activation): ←/→ move to the previous or next
 * tab and activate it, Home/End the first or last; only the selected tab is in the Tab order, and
 * Tab from it goes on to the tab panel. Bind `onKeydown` on the element with role="tablist".
 */
export function useTablist() {
  function onKeydown(event: KeyboardEvent): void {
    const list = event.currentTarget as HTMLElement;
    const tabs = [...list.querySelectorAll<HTMLElement>('[role="tab"]')];
    const index = tabs.indexOf((event.target as HTMLElement).closest<HTMLElement>('[role="tab"]') as HTMLElement);
    if (index < 0) return;
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    next.focus();
    next.click();
  }
  return { onKeydown };
}
