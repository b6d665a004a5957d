import { createPinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick, ref } from 'vue';
import type { SearchHit, SearchIndexing } from '../src/workspace/api';

// The picker searches through this module; the test answers in the server's place.
const server = vi.hoisted(() => ({ searchCards: vi.fn(), fetchCardTypes: vi.fn(async () => []), fetchUsers: vi.fn(async () => []) }));
vi.mock('../src/workspace/api', () => server);

const { default: CardPicker } = await import('../src/field-kinds/parts/CardPicker.vue');
const { i18n } = await import('../src/i18n');
const messages = await import('../src/workspace/messages');
// The workspace's strings, as the workspace adds them at start-up.
i18n.global.mergeLocaleMessage('ru', messages.ru);
i18n.global.mergeLocaleMessage('en', messages.en);

const hit = (id: string, title: string, typeKey = 'counterparty'): SearchHit => ({
  exact: false,
  card: { id, title, typeKey, folderId: 'f1', values: {} },
  foundInFiles: [],
});
const answer = (hits: SearchHit[], indexing: SearchIndexing) => ({ hits, indexing });

/** The reference field's picker as a card form draws it, with a v-model. */
function drawPicker() {
  const model = ref<string[]>([]);
  const host = document.createElement('div');
  document.body.append(host);
  const app = createApp({
    render: () =>
      h(CardPicker, {
        modelValue: model.value,
        multiple: false,
        targets: ['counterparty'],
        titles: {},
        control: { inputId: 'counterparty-input' },
        name: 'counterparty',
        'onUpdate:modelValue': (next: string[]) => (model.value = next),
      }),
  })
    .use(createPinia())
    .use(i18n);
  app.mount(host);
  const input = host.querySelector<HTMLInputElement>('[data-test="input-counterparty"]')!;
  const type = async (text: string) => {
    input.value = text;
    input.dispatchEvent(new Event('input'));
    await nextTick();
  };
  const note = () => host.querySelector('[data-test="search-indexing"]');
  const options = () => [...host.querySelectorAll('[role="option"]')].map((option) => option.textContent?.trim());
  return { host, model, type, note, options, unmount: () => app.unmount() };
}

beforeEach(() => {
  vi.clearAllMocks();
  i18n.global.locale.value = 'ru';
});

describe('the reference field’s card picker', () => {
  it('says, as the search box does, that results may be incomplete while stored cards are still being indexed, and stops once they are', async () => {
    server.searchCards.mockResolvedValueOnce(answer([hit('c1', 'ООО «Ромашка»'), hit('p1', 'Ромашкин И. И.', 'person')], { percent: 40 }));
    const picker = drawPicker();
    await picker.type('Ромашка');
    await vi.waitFor(() => expect(picker.options()).toEqual(['ООО «Ромашка»']), { timeout: 5000 });
    expect(picker.note()?.textContent).toContain('Карточки, сохранённые до обновления, ещё индексируются для поиска (40 %): результаты могут быть неполными.');
    expect(picker.note()?.getAttribute('role')).toBe('status');
    // The note is not an option of the list.
    expect(picker.host.querySelector('[role="listbox"] [data-test="search-indexing"]')).toBeNull();
    expect(server.searchCards).toHaveBeenCalledWith('Ромашка', null, 20);

    // The indexing is done: the next search says nothing more.
    server.searchCards.mockResolvedValueOnce(answer([hit('c2', 'ООО «Ромашка-2»')], null));
    await picker.type('Ромашка-2');
    await vi.waitFor(() => expect(picker.options()).toEqual(['ООО «Ромашка-2»']), { timeout: 5000 });
    expect(picker.note()).toBeNull();
    picker.unmount();
  });

  it('before the job knows how many cards it has, says the indexing has started; in English too', async () => {
    i18n.global.locale.value = 'en';
    server.searchCards.mockResolvedValueOnce(answer([], { percent: null }));
    const picker = drawPicker();
    await picker.type('Vector');
    await vi.waitFor(() => expect(picker.note()).not.toBeNull(), { timeout: 5000 });
    expect(picker.note()?.textContent).toMatch(/started/);
    expect(picker.host.textContent).toContain('Nothing found');
    picker.unmount();
  });

  it('an answer to an earlier query that arrives after a later one started is not shown', async () => {
    let answerFirst: (value: ReturnType<typeof answer>) => void = () => undefined;
    server.searchCards.mockReturnValueOnce(new Promise((resolve) => (answerFirst = resolve)));
    server.searchCards.mockResolvedValueOnce(answer([hit('c3', 'ООО «Вектор»')], null));
    const picker = drawPicker();
    await picker.type('Ромашка');
    await vi.waitFor(() => expect(server.searchCards).toHaveBeenCalledTimes(1), { timeout: 5000 });
    await picker.type('Вектор');
    await vi.waitFor(() => expect(picker.options()).toEqual(['ООО «Вектор»']), { timeout: 5000 });
    answerFirst(answer([hit('c1', 'ООО «Ромашка»')], { percent: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await nextTick();
    expect(picker.options()).toEqual(['ООО «Вектор»']);
    expect(picker.note()).toBeNull();
    picker.unmount();
  });
});
