import { nextTick, useTemplateRef, watch, type Ref } from 'vue';

/**
 * The keyboard of a menu button (WAI-ARIA «menu button»): opening the menu puts the focus on its
 * first item; ↓ / ↑ (and Home / End) move between the items; Escape closes it and gives the focus
 * back to the button. The component marks the list `ref="menu"` and the button `ref="menuButton"`,
 * and binds `onKeydown` on their container.
 */
export function useMenuKeys(open: Ref<boolean>) {
  const menu = useTemplateRef<HTMLElement>('menu');
  const button = useTemplateRef<HTMLElement>('menuButton');
  const items = () => [...(menu.value?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])') ?? [])];
  watch(open, async (isOpen) => {
    if (!isOpen) return;
    await nextTick();
    items()[0]?.focus();
  });
  function onKeydown(event: KeyboardEvent): void {
    if (!open.value) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      open.value = false;
      button.value?.focus();
      return;
    }
    const list = items();
    const at = list.indexOf(document.activeElement as HTMLElement);
    const last = list.length - 1;
    const next = { ArrowDown: at >= last ? 0 : at + 1, ArrowUp: at <= 0 ? last : at - 1, Home: 0, End: last }[event.key];
    if (next === undefined || list.length === 0) return;
    event.preventDefault();
    list[next].focus();
  }
  return { onKeydown };
}
