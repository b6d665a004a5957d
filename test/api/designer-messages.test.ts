import { expect } from 'chai';
import { messages } from '../../card-types';
import { checkDraft, newField, newType, toSentDefinition, type FieldDraft, type TypeDraft } from '../../client/src/components/card-types/draft';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const CREATE = 'mutation($d: CardTypeInput!) { createCardType(definition: $d) { key fields { key default } } }';

/**
 * The type designer checks a draft with the kernel before sending it; the server checks what it
 * receives with the same kernel functions. For the same input both must say the same thing, field
 * by field, and the refusal as a whole reads alike («Проверьте заполнение полей»).
 */
describe('type designer and server say the same (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let probes = 0;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
  });
  after(async () => {
    await server?.stop();
  });

  /** A new type with a name field and the probed field (index 1). */
  function draftWith(probe: Partial<FieldDraft> & { kind: string }): TypeDraft {
    probes += 1;
    const name: FieldDraft = { ...newField('string'), key: 'name', label: { ru: 'Название', en: 'Name' } };
    const field: FieldDraft = { ...newField(probe.kind), key: 'probe', label: { ru: 'Проба', en: 'Probe' }, ...probe };
    return { ...newType(), key: `probe-${probes}`, names: { ru: `Проба ${probes}`, en: `Probe ${probes}` }, titleTemplate: '{name}', fields: [name, field] };
  }

  /** What the designer shows before sending, and what the server answers to what it would send. */
  async function bothSay(draft: TypeDraft): Promise<{ designer: Record<string, string>; server: Record<string, string>; message: string | undefined }> {
    const designer = checkDraft(draft, [], 'ru');
    const answer = await admin.request(CREATE, { d: toSentDefinition(draft) });
    return { designer, server: (answer.errors?.[0]?.extensions?.fields ?? {}) as Record<string, string>, message: answer.errors?.[0]?.message };
  }

  /** The same field sent by hand with its settings as written (the API's own user). */
  async function serverSays(field: Record<string, unknown>): Promise<Record<string, string>> {
    probes += 1;
    const answer = await admin.request(CREATE, {
      d: {
        key: `hand-${probes}`,
        names: { ru: `Вручную ${probes}` },
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'name', kind: 'string', label: { ru: 'Название' } },
          { key: 'probe', label: { ru: 'Проба' }, ...field },
        ],
      },
    });
    return (answer.errors?.[0]?.extensions?.fields ?? {}) as Record<string, string>;
  }

  it('a rating default of 6: «Оценка — от 1 до 5» in the designer and from the server, typed or sent as a number', async () => {
    const { designer, server, message } = await bothSay(draftWith({ kind: 'rating', default: '6' }));
    expect(designer).to.deep.equal({ 'fields.1.default': 'Оценка — от 1 до 5' });
    expect(server).to.deep.equal(designer);
    expect(message).to.equal(messages.checkFields.ru);
    expect(await serverSays({ kind: 'rating', default: 6 })).to.deep.equal(designer);
  });

  it('a rating default "4" is taken as cards take "4", and kept as the number 4', async () => {
    const created = await admin.data<{ createCardType: { fields: { key: string; default: unknown }[] } }>(CREATE, {
      d: {
        key: 'rated',
        names: { ru: 'С оценкой' },
        titleTemplate: '{name}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'name', kind: 'string', label: { ru: 'Название' } },
          { key: 'stars', kind: 'rating', label: { ru: 'Оценка' }, default: '4' },
        ],
      },
    });
    expect(created.createCardType.fields.find((field) => field.key === 'stars')?.default).to.equal(4);
    expect(checkDraft(draftWith({ kind: 'rating', default: '4' }), [], 'ru')).to.deep.equal({});
  });

  it('a reference without targets: «Укажите, на карточки каких типов ссылается поле» from both, sent empty or left out', async () => {
    const { designer, server } = await bothSay(draftWith({ kind: 'reference' }));
    expect(designer).to.deep.equal({ 'fields.1.targets': 'Укажите, на карточки каких типов ссылается поле' });
    expect(server).to.deep.equal(designer);
    expect(await serverSays({ kind: 'reference' })).to.deep.equal(designer);
  });

  it('a choice without options: «Добавьте хотя бы один вариант» from both, sent empty or left out', async () => {
    const { designer, server } = await bothSay(draftWith({ kind: 'enum' }));
    expect(designer).to.deep.equal({ 'fields.1.options': 'Добавьте хотя бы один вариант' });
    expect(server).to.deep.equal(designer);
    expect(await serverSays({ kind: 'enum' })).to.deep.equal(designer);
  });
});
