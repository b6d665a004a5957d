import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick, reactive } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import { i18n, setLocale } from '../src/i18n';

// «Похожие карточки» ask the server through this module; the test answers in its place.
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', () => ({ graphql: (text: string) => text, request: server.request }));

const { default: SimilarCards } = await import('../src/duplicates/SimilarCards.vue');
const { en, ru } = await import('../src/duplicates/messages');
i18n.global.mergeLocaleMessage('ru', ru);
i18n.global.mergeLocaleMessage('en', en);
const { useCardTypesStore } = await import('../src/workspace/stores/cardTypes');

const counterparty = {
  key: 'counterparty',
  titleTemplate: '{name}',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  fields: [
    { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' } },
    { key: 'phone', kind: 'phone', label: { ru: 'Телефон', en: 'Phone' }, listed: true },
    { key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN' }, unique: true },
  ],
};

/** The warning under a counterparty's form once the server found a card alike, its rules labelled as the server labels them for an account in English. */
async function warning(
  rules: { id: string; fields: string[]; mode: string; label: string }[],
  refused: { refusedBy: string[]; refusedFields: string[] } = { refusedBy: [], refusedFields: [] },
) {
  const pinia = createPinia();
  setActivePinia(pinia);
  useCardTypesStore().types = [counterparty] as never;
  server.request.mockResolvedValue({
    similarCards: [
      {
        card: { id: 'c1', title: 'ООО «Лира»', folderId: 'f1', folder: { name: 'Корреспонденты' }, values: { name: 'ООО «Лира»', phone: '+7 912 345 67 89' }, references: [] },
        score: 1,
        ...refused,
        rules,
      },
    ],
  });
  const props = reactive({ typeKey: 'counterparty', values: {} as Record<string, unknown>, excludeId: null });
  const host = document.createElement('div');
  document.body.append(host);
  const app = createApp({ render: () => h(SimilarCards, props) });
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/folders/:folderId/cards/:cardId', name: 'workspace-card', component: () => null }] });
  app.use(pinia).use(i18n).use(router).mount(host);
  vi.useFakeTimers();
  props.values = { phone: '+7 912 345-67-89' };
  await nextTick();
  await vi.advanceTimersByTimeAsync(500);
  vi.useRealTimers();
  await nextTick();
  return host.querySelector('[data-test="similar-card"]')!;
}

afterEach(() => setLocale('ru'));

describe('rule labels of duplicates follow the interface language, not the account’s when the server answered', () => {
  it('reads «Телефон: совпадает; Наименование: похоже» in the Russian interface though the server said «Phone: same», and English after a switch', async () => {
    setLocale('ru');
    const card = await warning([
      { id: 'phone', fields: ['phone'], mode: 'exact', label: 'Phone: same' },
      { id: 'name', fields: ['name'], mode: 'similar', label: 'Name: similar' },
    ]);
    expect(card.textContent).toContain('Телефон: совпадает; Наименование: похоже');
    // What tells the card apart from others of its name: its phone.
    expect(card.querySelector('[data-test="similar-card-values"]')?.textContent).toBe(' · +7 912 345 67 89');
    setLocale('en');
    await nextTick();
    expect(card.textContent).toContain('Phone: same; Name: similar');
  });

  it('names the unique field a save would be refused by in the interface language, though the server named it in the account’s (s10 remainder, #16)', async () => {
    setLocale('en');
    const card = await warning([{ id: 'inn', fields: ['inn'], mode: 'exact', label: 'ИНН: совпадает' }], { refusedBy: ['ИНН'], refusedFields: ['inn'] });
    expect(card.querySelector('[data-test="similar-refused-by"]')?.textContent).toBe(' · already taken: INN — saving will be refused');
    setLocale('ru');
    await nextTick();
    expect(card.querySelector('[data-test="similar-refused-by"]')?.textContent).toBe(' · уже есть: ИНН — сохранение будет отклонено');
  });

  it('keeps the server’s label of a rule whose field the type no longer has', async () => {
    setLocale('ru');
    const card = await warning([{ id: 'fax', fields: ['fax'], mode: 'exact', label: 'Факс: совпадает' }]);
    expect(card.textContent).toContain('Факс: совпадает');
  });
});
