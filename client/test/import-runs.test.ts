import { createPinia } from 'pinia';
import { describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick, ref } from 'vue';
import type { ImportRun } from '../src/transfer/api';
import { i18n } from '../src/i18n';
import { installTransfer } from '../src/transfer';
import { jobSnapshot } from './job-snapshot';

// An import that failed after writing 9,342 of its 20,001 rows (the database gone a while), as the server lists it and its stream tells it.
const failed = jobSnapshot({
  id: 'import-1',
  state: 'failed',
  progress: { done: 9342, total: 20001 },
  error: 'MongoServerSelectionError: connection timed out',
  errorMessage: 'База данных не отвечала: импорт прерван. Нажмите «Продолжить», чтобы продолжить с места остановки.',
  retryable: true,
});
const run: ImportRun = {
  fileName: 'clients-20000.xlsx',
  job: { id: 'import-1', state: 'failed', createdAt: '2026-11-27T10:24:00.000Z', progress: { done: 9342 }, importResult: null },
  undo: null,
};
vi.mock('../src/transfer/api', () => ({ importRuns: async () => [run], refusedReportUrl: (id: string) => `/report/${id}`, undoImport: vi.fn() }));
vi.mock('../src/jobs/useJob', () => ({
  FINISHED: ['succeeded', 'failed', 'cancelled'],
  useJob: () => ({ job: ref(failed), error: ref(null), reconnecting: ref(false), cancel: vi.fn(), retry: vi.fn() }),
}));
vi.mock('../src/workspace/live', () => ({ onJobEvent: () => () => undefined, onLiveReconnected: () => () => undefined }));

const { default: ImportRuns } = await import('../src/transfer/ImportRuns.vue');
installTransfer();

describe('«Ваши импорты в эту папку» (s12 user U2, #15)', () => {
  it('a failed import says how far it got and why, offers «Продолжить с места остановки», and «Отменить этот импорт» for the rows it wrote', async () => {
    const host = document.createElement('div');
    createApp({ render: () => h(ImportRuns, { folderId: 'f1', shownJobId: null }) })
      .use(createPinia())
      .use(i18n)
      .mount(host);
    await vi.waitFor(() => expect(host.querySelector('[data-test="import-earlier"]')).not.toBeNull());
    await nextTick();
    expect(host.querySelector('[data-test="job-done"]')?.textContent?.trim()).toBe('9\u00a0342 из 20\u00a0001');
    expect(host.querySelector('[data-test="job-error"]')?.textContent).toBe(failed.errorMessage);
    expect(host.querySelector('[data-test="job-retry"]')?.textContent).toBe('Продолжить с места остановки');
    expect(host.querySelector('[data-test="import-earlier-undo"]')?.textContent).toBe('Отменить этот импорт');
  });
});
