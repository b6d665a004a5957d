import { expect } from 'chai';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { typeChangeApplied, versioned } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

const SAVE = 'mutation($d: CardTypeInput!) { updateCardType(definition: $d) { key fields { key hidden } changeJob { id } } }';
type Saved = { updateCardType: { fields: { key: string; hidden: boolean }[]; changeJob: { id: string } | null } };
const PREVIEW =
  'query($d: CardTypeInput!) { cardTypeChangePreview(definition: $d) { safe fields { key allowed refusal safe updates failures { cardId value reason } missing duplicates { value cardIds } } } }';

const techSpec = {
  key: 'tech-spec',
  names: { ru: 'Техническое задание', en: 'Technical specification' },
  titleTemplate: '{title}',
  historyEnabled: false,
  origin: 'admin',
  fields: [
    { key: 'title', kind: 'string', label: { ru: 'Название', en: 'Title' }, required: true, listed: true },
    { key: 'counterparty', kind: 'reference', label: { ru: 'Контрагент', en: 'Counterparty' }, targets: ['counterparty'] },
    { key: 'budget', kind: 'string', label: { ru: 'Бюджет', en: 'Budget' } },
  ],
};

describe('card types defined by administrators, and schema changes that lose nothing (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let folder: string;
  const cards: string[] = [];

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const library = (await admin.data<{ createLibrary: { id: string } }>('mutation { createLibrary(name: "Проекты") { id } }')).createLibrary.id;
    folder = (
      await admin.data<{ createFolder: { id: string } }>('mutation($input: FolderInput!) { createFolder(input: $input) { id } }', { input: { libraryId: library, name: 'ТЗ' } })
    ).createFolder.id;
  });
  after(async () => {
    await server?.stop();
  });

  it('defines «Техническое задание» with a required title, and cards of it follow the definition', async () => {
    const created = await admin.data<{ createCardType: { key: string } }>('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: techSpec });
    expect(created.createCardType.key).to.equal('tech-spec');
    const missing = await admin.request('mutation($f: ID!) { createCard(folderId: $f, typeKey: "tech-spec", values: {}) { id } }', { f: folder });
    expect(missing.errors?.[0].extensions?.fields).to.deep.equal({ title: 'Обязательное поле' });
    for (const [title, budget] of [
      ['ТЗ на сайт', '150000'],
      ['ТЗ на CRM', 'около миллиона'],
      ['ТЗ без бюджета', null],
    ]) {
      const card = await admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "tech-spec", values: $v) { id } }', {
        f: folder,
        v: budget ? { title, budget } : { title },
      });
      cards.push(card.createCard.id);
    }
  });

  it('rejects a defining error at its path', async () => {
    const result = await admin.request('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: { ...techSpec, key: 'Bad Key' } });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.errors?.[0].extensions?.fields).to.have.property('key');
  });

  it('dry-runs a kind change and lists every value that would not convert; applying it is refused', async () => {
    const toMoney = { ...techSpec, fields: techSpec.fields.map((f) => (f.key === 'budget' ? { ...f, kind: 'money' } : f)) };
    const preview = await admin.data<{ cardTypeChangePreview: { safe: boolean; fields: { key: string; failures: { cardId: string; value: string }[]; updates: number }[] } }>(
      PREVIEW,
      { d: toMoney },
    );
    expect(preview.cardTypeChangePreview.safe).to.equal(false);
    const budget = preview.cardTypeChangePreview.fields.find((f) => f.key === 'budget')!;
    expect(budget.failures.map((f) => [f.cardId, f.value])).to.deep.equal([[cards[1], 'около миллиона']]);
    const refused = await admin.request(SAVE, { d: await versioned(admin, toMoney) });
    expect(refused.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(refused.errors?.[0].extensions?.fields).to.deep.equal({ 'fields.2.kind': 'Не преобразуются значения в карточках: 1' });
    const card = await admin.data<{ card: { values: { budget: string } } }>('query($id: ID!) { card(id: $id) { values } }', { id: cards[1] });
    expect(card.card.values.budget).to.equal('около миллиона');
  });

  it('reports the cards that would violate a new required rule before it takes effect', async () => {
    const required = { ...techSpec, fields: techSpec.fields.map((f) => (f.key === 'budget' ? { ...f, required: true } : f)) };
    const preview = await admin.data<{ cardTypeChangePreview: { fields: { key: string; missing: string[] }[] } }>(PREVIEW, { d: required });
    expect(preview.cardTypeChangePreview.fields.find((f) => f.key === 'budget')!.missing).to.deep.equal([cards[2]]);
  });

  /** Saves a change and waits until it is applied to the cards, as the designer does. */
  const save = async (definition: unknown) => {
    const saved = await admin.data<Saved>(SAVE, { d: await versioned(admin, definition) });
    await typeChangeApplied(admin, saved.updateCardType.changeJob);
    return saved;
  };

  it('a field sent as hidden is hidden and keeps its values out of reads; a field left out stays as it is; bringing it back shows them again', async () => {
    const withoutBudget = { ...techSpec, fields: techSpec.fields.filter((f) => f.key !== 'budget') };
    const unchanged = await save(withoutBudget);
    expect(unchanged.updateCardType.fields.find((f) => f.key === 'budget')?.hidden).to.equal(false);
    const hiding = { ...techSpec, fields: techSpec.fields.map((f) => (f.key === 'budget' ? { ...f, hidden: true } : f)) };
    const saved = await save(hiding);
    expect(saved.updateCardType.fields.find((f) => f.key === 'budget')?.hidden).to.equal(true);
    const edited = await admin.data<{ updateCard: { values: Record<string, string>; hiddenValues: Record<string, string> } }>(
      'mutation($id: ID!) { updateCard(id: $id, version: 1, values: { title: "ТЗ на сайт (v2)" }) { values hiddenValues } }',
      { id: cards[0] },
    );
    expect(edited.updateCard).to.deep.equal({ values: { title: 'ТЗ на сайт (v2)' }, hiddenValues: { budget: '150000' } });
    const restored = await save(techSpec);
    expect(restored.updateCardType.fields.find((f) => f.key === 'budget')?.hidden).to.equal(false);
    const card = await admin.data<{ card: { values: Record<string, string> } }>('query($id: ID!) { card(id: $id) { values } }', { id: cards[0] });
    expect(card.card.values).to.deep.equal({ title: 'ТЗ на сайт (v2)', budget: '150000' });
  });

  it('relabelling touches no data', async () => {
    const relabelled = { ...techSpec, fields: techSpec.fields.map((f) => (f.key === 'title' ? { ...f, label: { ru: 'Наименование ТЗ', en: 'Spec name' } } : f)) };
    const preview = await admin.data<{ cardTypeChangePreview: { safe: boolean; fields: unknown[] } }>(PREVIEW, { d: relabelled });
    expect(preview.cardTypeChangePreview).to.deep.equal({ safe: true, fields: [] });
  });
});
