import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick, ref } from 'vue';
import type { JobSnapshot } from '../src/jobs/useJob';
import { i18n, setLocale } from '../src/i18n';
import { jobSnapshot } from './job-snapshot';

// The job as its stream would deliver it, set by each test.
const shown = vi.hoisted(() => ({ job: null as unknown as { value: JobSnapshot | null } }));
vi.mock('../src/jobs/useJob', () => ({
  FINISHED: ['succeeded', 'failed', 'cancelled'],
  useJob: () => ({ job: shown.job, error: ref(null), reconnecting: ref(false), cancel: vi.fn(), retry: vi.fn() }),
}));

const { default: JobProgress } = await import('../src/jobs/JobProgress.vue');

const scanStages = { reading: 'Чтение карточек…', indexing: 'Подготовка к сравнению…', comparing: 'Сравнение карточек…', grouping: 'Группировка…' };

const running = (stage: string, done: number, total: number | null): JobSnapshot =>
  jobSnapshot({ type: 'duplicate-scan', progress: { done, total, note: 'Контрагент', stage }, updatedAt: '2026-11-27T07:00:00.000Z' });

/** The progress of a job as the page shows it, with these stages named. */
async function progressOf(job: JobSnapshot, stages?: Record<string, string>) {
  shown.job = ref(job);
  const host = document.createElement('div');
  createApp({ render: () => h(JobProgress, { jobId: 'j1', stages }) })
    .use(i18n)
    .mount(host);
  await nextTick();
  return host;
}

afterEach(() => setLocale('ru'));

describe('a job in stages names the stage under way above its bar (s10 verify U15, #16)', () => {
  it('reads «Этап 3 из 4: Сравнение карточек…» with the stage’s own count, not 100 % of the cards read', async () => {
    const host = await progressOf(running('comparing', 30, 120), scanStages);
    expect(host.querySelector('[data-test="job-stage"]')?.textContent).toBe('Этап 3 из 4: Сравнение карточек…');
    expect(host.querySelector('[data-test="job-percent"]')?.textContent).toBe('25 %');
  });

  it('shows a stage whose work is not known yet without a percentage', async () => {
    const host = await progressOf(running('grouping', 0, null), scanStages);
    expect(host.querySelector('[data-test="job-stage"]')?.textContent).toBe('Этап 4 из 4: Группировка…');
    expect(host.querySelector('[data-test="job-percent"]')).toBeNull();
  });

  it('names no stage for a job without stages, nor once the job ended', async () => {
    expect((await progressOf(running('', 3, 10))).querySelector('[data-test="job-stage"]')).toBeNull();
    expect((await progressOf({ ...running('grouping', 5, 5), state: 'succeeded' }, scanStages)).querySelector('[data-test="job-stage"]')).toBeNull();
  });
});

describe('a job whose run cannot reach the database says so (s13 re-test R1)', () => {
  it('shows «Связь с базой данных потеряна — повторяем…» instead of a rate and a time left, and the time left again once told the progress', async () => {
    const moving = jobSnapshot({ progress: { done: 1000, total: 5000, rate: 38, secondsLeft: 106 } });
    const waiting = await progressOf({ ...moving, waitingForDatabase: true, progress: { ...moving.progress, rate: null, secondsLeft: null } });
    expect(waiting.querySelector('[data-test="job-waiting-for-database"]')?.textContent).toMatch(/^Связь с базой данных потеряна — повторяем…/);
    expect(waiting.querySelector('[data-test="job-left"]')).toBeNull();
    expect(waiting.querySelector('[data-test="job-rate"]')).toBeNull();
    const back = await progressOf(moving);
    expect(back.querySelector('[data-test="job-waiting-for-database"]')).toBeNull();
    expect(back.querySelector('[data-test="job-left"]')?.textContent).toBe('осталось около 1 мин 46 с');
  });
});

describe('a job being cancelled (s14 user U3)', () => {
  it('says «Отменяется…» without a rate or a time left: it only ends the batch it began', async () => {
    const moving = jobSnapshot({ progress: { done: 2000, total: 5000, rate: 8, secondsLeft: 374 } });
    const cancelling = await progressOf({ ...moving, cancelRequested: true });
    expect(cancelling.querySelector('[data-test="job-state"]')?.textContent).toBe('Отменяется…');
    expect(cancelling.querySelector('[data-test="job-left"]')).toBeNull();
    expect(cancelling.querySelector('[data-test="job-rate"]')).toBeNull();
    expect(cancelling.querySelector('[data-test="job-cancel"]')).toBeNull();
  });
});
