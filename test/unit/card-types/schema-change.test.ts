import { expect } from 'chai';
import { type CardTypeDefinition, type FieldDefinition } from '../../../card-types';
import { canConvertKind, mergeCodeAndAdminDefinition, planFieldChange } from '../../../card-types/definitions';
import { builtInCardTypes } from '../../../card-types/built-in';
import { label } from './fixtures';

const cards = (...values: unknown[]) => values.map((value, index) => ({ cardId: `c${index + 1}`, value }));

describe('schema changes: kinds', () => {
  const code: FieldDefinition = { key: 'code', kind: 'string', label };

  it('says which kinds convert at all', () => {
    expect(canConvertKind('string', 'text')).to.equal(true);
    expect(canConvertKind('integer', 'decimal')).to.equal(true);
    expect(canConvertKind('enum', 'string')).to.equal(true);
    expect(canConvertKind('boolean', 'date')).to.equal(false);
    expect(canConvertKind('reference', 'string')).to.equal(false);
    expect(canConvertKind('user', 'reference')).to.equal(false);
  });

  it('refuses a kind that does not convert, naming both kinds, before reading any card', () => {
    const read = () => {
      throw new Error('cards were read');
    };
    const plan = planFieldChange({ key: 'paid', kind: 'boolean', label }, { key: 'paid', kind: 'date', label }, { [Symbol.iterator]: read });
    expect(plan).to.include({ allowed: false, safe: false, refusal: 'Поле типа «Да/нет» нельзя преобразовать в «Дата»' });
  });

  it('refuses changing a field key', () => {
    const plan = planFieldChange(code, { ...code, key: 'article' }, [], { locale: 'en' });
    expect(plan).to.include({ allowed: false, refusal: 'A field key cannot be changed' });
  });

  it('turns a line into multi-line text without touching a value', () => {
    const plan = planFieldChange(code, { ...code, kind: 'text' }, cards('A-1', 'B-2'));
    expect(plan).to.include({ allowed: true, safe: true, noOp: false });
    expect(plan.updates).to.deep.equal([]);
  });

  it('turns text into e-mails only when every value is one, listing each that is not', () => {
    const plan = planFieldChange(code, { ...code, kind: 'email' }, cards('ivan@mail.ru', 'Петров', undefined, 'Olga@Yandex.RU', 'нет почты'));
    expect(plan.safe).to.equal(false);
    expect(plan.failures).to.deep.equal([
      { cardId: 'c2', value: 'Петров', reason: 'Введите корректный e-mail' },
      { cardId: 'c5', value: 'нет почты', reason: 'Введите корректный e-mail' },
    ]);
    expect(plan.updates).to.deep.equal([{ cardId: 'c4', value: 'Olga@yandex.ru' }]);
  });

  it('calls a conversion that changes what a person reads («007» → 7, «1 000», «12.0», spaces) a change of the value, listed with what it becomes, until accepted', () => {
    const number: FieldDefinition = { ...code, kind: 'integer' };
    const plan = planFieldChange(code, number, cards('42', '007', '1 000', '12.0', ' 5', '1\u00a0000'));
    expect(plan.safe).to.equal(false);
    expect(plan.failures).to.deep.equal([]);
    expect(plan.altered).to.deep.equal([
      { cardId: 'c2', value: '007', becomes: 7 },
      { cardId: 'c3', value: '1 000', becomes: 1000 },
      { cardId: 'c4', value: '12.0', becomes: 12 },
      { cardId: 'c5', value: ' 5', becomes: 5 },
    ]);
    const accepted = planFieldChange(code, number, cards('42', '007'), { acceptAltered: true });
    expect(accepted).to.include({ safe: true, alteredAccepted: true });
    expect(accepted.updates).to.deep.equal([
      { cardId: 'c1', value: 42 },
      { cardId: 'c2', value: 7 },
    ]);
    // Values that read the same after the change are not altered: numbers becoming text, yes/no, stars, decimals gaining a scale.
    expect(planFieldChange(number, code, cards(1000, 7)).altered).to.deep.equal([]);
    expect(planFieldChange({ ...code, kind: 'boolean' }, code, cards(true)).altered).to.deep.equal([]);
    expect(planFieldChange({ ...code, kind: 'decimal' }, { ...code, kind: 'money' }, cards('12.5')).safe).to.equal(true);
    expect(planFieldChange(code, { ...code, kind: 'date' }, cards('05.01.2024', '5.1.2024')).altered).to.deep.equal([{ cardId: 'c2', value: '5.1.2024', becomes: '2024-01-05' }]);
  });

  it('turns integers into money exactly, and money into integers only where nothing is lost', () => {
    const count: FieldDefinition = { key: 'amount', kind: 'integer', label };
    const money: FieldDefinition = { key: 'amount', kind: 'money', label };
    expect(planFieldChange(count, money, cards(5, 12000)).updates).to.deep.equal([
      { cardId: 'c1', value: '5.00' },
      { cardId: 'c2', value: '12000.00' },
    ]);
    const back = planFieldChange(money, count, cards('5.00', '10.50'));
    expect(back.updates).to.deep.equal([{ cardId: 'c1', value: 5 }]);
    expect(back.failures).to.deep.equal([{ cardId: 'c2', value: '10.50', reason: 'Введите целое число' }]);
  });

  it('reports amounts that a smaller scale would round', () => {
    const precise: FieldDefinition = { key: 'rate', kind: 'decimal', label };
    const plan = planFieldChange(precise, { ...precise, kind: 'money' }, cards('0.1', '0.125'));
    expect(plan.updates).to.deep.equal([{ cardId: 'c1', value: '0.10' }]);
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: '0.125', reason: 'Не больше 2 знаков после запятой' }]);
  });

  it('turns a choice into text by its Russian label, and text back into a choice by label or value', () => {
    const status: FieldDefinition = {
      key: 'status',
      kind: 'enum',
      label,
      options: [
        { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
        { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } },
      ],
    };
    const text: FieldDefinition = { key: 'status', kind: 'string', label };
    expect(planFieldChange(status, text, cards('draft')).updates).to.deep.equal([{ cardId: 'c1', value: 'Черновик' }]);
    const back = planFieldChange(text, status, cards('черновик', 'Sent', 'sent', 'в работе'));
    expect(back.updates).to.deep.equal([
      { cardId: 'c1', value: 'draft' },
      { cardId: 'c2', value: 'sent' },
    ]);
    expect(back.failures).to.deep.equal([{ cardId: 'c4', value: 'в работе', reason: 'Выберите значение из списка' }]);
  });

  it('reports the cards with several values when a multiple choice becomes single', () => {
    const options = [
      { value: 'a', label: { ru: 'А', en: 'A' } },
      { value: 'b', label: { ru: 'Б', en: 'B' } },
    ];
    const many: FieldDefinition = { key: 'pick', kind: 'enum', label, options, multiple: true };
    const plan = planFieldChange(many, { ...many, multiple: false }, cards(['a'], ['a', 'b']));
    expect(plan.updates).to.deep.equal([{ cardId: 'c1', value: 'a' }]);
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: ['a', 'b'], reason: 'Можно выбрать только одно значение' }]);
  });

  it('reports values an enum option removal would orphan', () => {
    const options = [
      { value: 'a', label: { ru: 'А', en: 'A' } },
      { value: 'b', label: { ru: 'Б', en: 'B' } },
    ];
    const choice: FieldDefinition = { key: 'pick', kind: 'enum', label, options };
    const plan = planFieldChange(choice, { ...choice, options: options.slice(0, 1) }, cards('a', 'b'));
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: 'b', reason: 'Выберите значение из списка' }]);
  });

  it('turns date-times into dates only where no time of day would be lost', () => {
    const moment: FieldDefinition = { key: 'when', kind: 'datetime', label };
    const plan = planFieldChange(moment, { ...moment, kind: 'date' }, cards('2024-03-01T00:00:00.000Z', '2024-03-01T10:30:00.000Z'));
    expect(plan.updates).to.deep.equal([{ cardId: 'c1', value: '2024-03-01' }]);
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: '2024-03-01T10:30:00.000Z', reason: 'Время будет потеряно' }]);
    expect(planFieldChange({ ...moment, kind: 'date' }, moment, cards('2024-03-01')).updates).to.deep.equal([{ cardId: 'c1', value: '2024-03-01T00:00:00.000Z' }]);
  });

  it('reports values longer than a lowered limit', () => {
    const plan = planFieldChange({ ...code, max: 100 }, { ...code, max: 3 }, cards('abc', 'abcd'), { locale: 'en' });
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: 'abcd', reason: 'At most 3 characters' }]);
  });
});

describe('schema changes: presentation, required, unique', () => {
  const inn: FieldDefinition = { key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN' } };

  it('treats relabelling, help, order, listing, hiding and defaults as no-ops that read no card', () => {
    const read = () => {
      throw new Error('cards were read');
    };
    const relabelled: FieldDefinition = {
      ...inn,
      label: { ru: 'ИНН организации', en: 'Company INN' },
      help: label,
      order: 5,
      listed: true,
      hidden: true,
      default: '7707083893',
    };
    const plan = planFieldChange(inn, relabelled, { [Symbol.iterator]: read });
    expect(plan).to.deep.equal({
      allowed: true,
      noOp: true,
      updates: [],
      failures: [],
      missing: [],
      missingAccepted: false,
      duplicates: [],
      altered: [],
      alteredAccepted: false,
      safe: true,
    });
  });

  it('treats renaming a choice’s options as a no-op', () => {
    const status: FieldDefinition = { key: 'status', kind: 'enum', label, options: [{ value: 'a', label: { ru: 'А', en: 'A' } }] };
    const renamed: FieldDefinition = { ...status, options: [{ value: 'a', label: { ru: 'Вариант А', en: 'Option A' } }] };
    expect(planFieldChange(status, renamed, []).noOp).to.equal(true);
  });

  it('lists the cards without a value before a field becomes required', () => {
    const plan = planFieldChange(inn, { ...inn, required: true }, cards('7707083893', '', undefined, null, '500100732259'));
    expect(plan.missing).to.deep.equal(['c2', 'c3', 'c4']);
    expect(plan.safe).to.equal(false);
    expect(planFieldChange(inn, { ...inn, required: true }, cards('7707083893')).safe).to.equal(true);
  });

  it('lists the cards lacking a new required field, and passes when they get a fill-in value or the field binds new and edited cards only', () => {
    const segment: FieldDefinition = { key: 'segment', kind: 'string', label, required: true };
    const plan = planFieldChange(undefined, segment, cards(undefined, undefined, 'опт'));
    expect(plan).to.include({ noOp: false, safe: false, missingAccepted: false });
    expect(plan.missing).to.deep.equal(['c1', 'c2']);
    const filled = planFieldChange(undefined, segment, cards(undefined, undefined, 'опт'), { fill: 'розница' });
    expect(filled).to.include({ safe: true });
    expect(filled.missing).to.deep.equal([]);
    expect(filled.updates).to.deep.equal([
      { cardId: 'c1', value: 'розница' },
      { cardId: 'c2', value: 'розница' },
    ]);
    const accepted = planFieldChange(undefined, { ...segment, requiredFor: 'newAndEdited' }, cards(undefined, 'опт'));
    expect(accepted).to.include({ safe: true, missingAccepted: true });
    expect(accepted.missing).to.deep.equal(['c1']);
    expect(planFieldChange(undefined, { ...segment, required: false }, cards(undefined)).noOp).to.equal(true);
  });

  it('«required for every card» said explicitly changes nothing; going from new-and-edited-only to every card lists the cards lacking a value', () => {
    const segment: FieldDefinition = { key: 'segment', kind: 'string', label, required: true };
    expect(planFieldChange(segment, { ...segment, requiredFor: 'all' }, cards(undefined)).noOp).to.equal(true);
    const lenient: FieldDefinition = { ...segment, requiredFor: 'newAndEdited' };
    const strict = planFieldChange(lenient, segment, cards(undefined, 'опт'));
    expect(strict).to.include({ safe: false, missingAccepted: false });
    expect(strict.missing).to.deep.equal(['c1']);
  });

  it('a fill-in value that would repeat in a unique field is reported as duplicates', () => {
    const code: FieldDefinition = { key: 'code', kind: 'string', label, required: true, unique: true };
    const plan = planFieldChange(undefined, code, cards(undefined, undefined), { fill: 'X' });
    expect(plan.duplicates).to.deep.equal([{ value: 'X', cardIds: ['c1', 'c2'] }]);
    expect(plan.safe).to.equal(false);
  });

  it('showing a hidden required field again lists the cards that lack its value; hiding one reads nothing', () => {
    const hidden: FieldDefinition = { ...inn, required: true, hidden: true };
    const shown = planFieldChange(hidden, { ...hidden, hidden: false }, cards('7707083893', undefined));
    expect(shown.missing).to.deep.equal(['c2']);
    expect(shown.safe).to.equal(false);
    expect(planFieldChange({ ...inn, hidden: true }, inn, cards(undefined)).noOp).to.equal(true);
  });

  it('groups the cards sharing a value before a field becomes unique, ignoring empty ones', () => {
    const plan = planFieldChange(inn, { ...inn, unique: true }, cards('7707083893', '500100732259', '7707083893', '', undefined, ' 7707083893 ', '500100732259'));
    expect(plan.duplicates).to.deep.equal([
      { value: '7707083893', cardIds: ['c1', 'c3', 'c6'] },
      { value: '500100732259', cardIds: ['c2', 'c7'] },
    ]);
    expect(plan.safe).to.equal(false);
  });

  it('compares values in their new stored form when a field changes kind and becomes unique', () => {
    const phone: FieldDefinition = { key: 'phone', kind: 'phone', label };
    const plan = planFieldChange({ ...phone, kind: 'string' }, { ...phone, unique: true }, cards('8 495 123-45-67', '+7 (495) 1234567'));
    expect(plan.duplicates).to.deep.equal([{ value: '+7 495 123 45 67', cardIds: ['c1', 'c2'] }]);
  });
});

describe('merging a newer code definition with an administrator’s changes', () => {
  const code = (): CardTypeDefinition => ({
    key: 'counterparty',
    names: { ru: 'Контрагент', en: 'Counterparty' },
    titleTemplate: '{name}',
    historyEnabled: false,
    origin: 'code',
    fields: [
      { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' }, required: true, max: 300 },
      { key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN' }, unique: true },
    ],
    relatedTabs: [{ key: 'contacts', label: { ru: 'Контактные лица', en: 'Contacts' }, cardType: 'contact-person', referenceField: 'counterparty' }],
  });

  const stored = (): CardTypeDefinition => ({
    key: 'counterparty',
    names: { ru: 'Клиент', en: 'Client' },
    customized: ['names'],
    titleTemplate: '{name}',
    historyEnabled: true,
    origin: 'code',
    fields: [
      {
        key: 'name',
        kind: 'string',
        label: { ru: 'Название клиента', en: 'Client name' },
        required: true,
        max: 200,
        listed: false,
        order: 7,
        customized: ['label', 'order'],
      },
      { key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN' } },
      { key: 'okpo', kind: 'string', label: { ru: 'ОКПО', en: 'OKPO' } },
      { key: 'segment', kind: 'enum', label, options: [{ value: 'b2b', label }], origin: 'admin' },
    ],
    relatedTabs: [
      { key: 'contacts', label, cardType: 'contact-person', referenceField: 'counterparty' },
      { key: 'deals', label, cardType: 'deal', referenceField: 'client', origin: 'admin' },
      { key: 'old', label, cardType: 'old', referenceField: 'client' },
    ],
  });

  it('takes the code’s rules but keeps what the administrator customised', () => {
    const { definition } = mergeCodeAndAdminDefinition(code(), stored());
    const name = definition.fields.find((field) => field.key === 'name');
    expect(name).to.deep.equal({
      key: 'name',
      kind: 'string',
      label: { ru: 'Название клиента', en: 'Client name' },
      required: true,
      max: 300,
      order: 7,
      customized: ['label', 'order'],
    });
    expect(definition.fields.find((field) => field.key === 'inn')).to.deep.include({ unique: true });
    expect(definition.names).to.deep.equal({ ru: 'Клиент', en: 'Client' });
    expect(definition.historyEnabled).to.equal(true);
  });

  it('never drops a field: admin fields stay, fields gone from code stay hidden with their data', () => {
    const { definition } = mergeCodeAndAdminDefinition(code(), stored());
    expect(definition.fields.map((field) => [field.key, field.hidden === true])).to.deep.equal([
      ['name', false],
      ['inn', false],
      ['okpo', true],
      ['segment', false],
    ]);
  });

  it('keeps the administrator’s tabs and drops tabs the code no longer has', () => {
    const { definition } = mergeCodeAndAdminDefinition(code(), stored());
    expect(definition.relatedTabs?.map((tab) => tab.key)).to.deep.equal(['contacts', 'deals']);
    expect(definition.relatedTabs?.[0]?.label.ru).to.equal('Контактные лица');
  });

  it('reports fields whose kind changed in code, so their values are converted first', () => {
    const newer = code();
    newer.fields[1] = { key: 'inn', kind: 'integer', label };
    const { kindChanges } = mergeCodeAndAdminDefinition(newer, stored());
    expect(kindChanges.map(({ key, from, to }) => [key, from.kind, to.kind])).to.deep.equal([['inn', 'string', 'integer']]);
  });

  it('keeps administrator fields when the stored type was the administrator’s own', () => {
    const adminOwn: CardTypeDefinition = { ...code(), origin: 'admin', fields: [...code().fields, { key: 'extra', kind: 'text', label }] };
    const { definition } = mergeCodeAndAdminDefinition(code(), adminOwn);
    expect(definition.fields.find((field) => field.key === 'extra')).to.deep.equal({ key: 'extra', kind: 'text', label });
    expect(definition.origin).to.equal('code');
  });

  it('uses the code definition as it is when nothing is stored yet', () => {
    const [counterparty] = builtInCardTypes;
    expect(mergeCodeAndAdminDefinition(counterparty!, undefined)).to.deep.equal({ definition: counterparty, kindChanges: [] });
  });
});
