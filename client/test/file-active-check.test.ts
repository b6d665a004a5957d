import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick } from 'vue';

// The API, answered here: the check's verdict comes only on a later question.
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', () => ({ graphql: (text: string) => text, request: server.request }));

const { default: FilePreview } = await import('../src/field-kinds/parts/FilePreview.vue');
const { ACTIVE_CHECK_FIRST_WAIT_MS, knownFiles } = await import('../src/files/api');
const { i18n } = await import('../src/i18n');

const file = { id: 'f1', name: 'счёт.pdf', size: 1000, version: 1, lineage: null, url: '/files/f1', preview: 'pdf' as const, canDownload: true, activeContent: null };

/** The card's preview of the file, opened. */
async function openedPreview() {
  const host = document.createElement('div');
  document.body.append(host);
  const app = createApp({ render: () => h(FilePreview, { file, title: file.name, toggleTest: 'file-preview-toggle' }) }).use(i18n);
  app.mount(host);
  host.querySelector<HTMLButtonElement>('[data-test="file-preview-toggle"]')!.click();
  await nextTick();
  return { host, app };
}

const note = (host: HTMLElement) => host.querySelector('[data-test="file-preview-active-content"]')?.textContent ?? null;

beforeEach(() => {
  // The frame's page is not loaded here (happy-dom says so on the console).
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.useFakeTimers();
  server.request.mockReset();
  knownFiles.clear();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  document.body.innerHTML = '';
});

describe('a PDF listed while its active-content check runs («проверяется»)', () => {
  it('shows the note about active content once the check answers, without a reload', async () => {
    knownFiles.set(file.id, { ...file });
    server.request.mockResolvedValueOnce({ files: [{ id: 'f1', activeContent: null }] }).mockResolvedValue({ files: [{ id: 'f1', activeContent: true }] });
    const { host, app } = await openedPreview();
    expect(note(host)).toBeNull();
    // Asked again after a while: still being checked.
    await vi.advanceTimersByTimeAsync(ACTIVE_CHECK_FIRST_WAIT_MS);
    expect(server.request).toHaveBeenCalledTimes(1);
    expect(note(host)).toBeNull();
    // The next question gets the verdict: the note shows, and the tab's copy of the file knows it.
    await vi.advanceTimersByTimeAsync(ACTIVE_CHECK_FIRST_WAIT_MS * 1.5);
    expect(note(host)).toContain('активное содержимое');
    expect(knownFiles.get('f1')?.activeContent).toBe(true);
    // Nothing is asked once the verdict is known.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.request).toHaveBeenCalledTimes(2);
    app.unmount();
  });

  it('stops asking when the card is closed', async () => {
    server.request.mockResolvedValue({ files: [{ id: 'f1', activeContent: null }] });
    const { app } = await openedPreview();
    await vi.advanceTimersByTimeAsync(ACTIVE_CHECK_FIRST_WAIT_MS);
    app.unmount();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(server.request).toHaveBeenCalledTimes(1);
  });
});
