import { describe, expect, it } from 'vitest';
import {
  checkDraft,
  fieldKeyFrom,
  newField,
  newType,
  toDefinition,
  toSentDefinition,
  typeDraft,
  typeKeyFrom,
  type StoredDefinition,
  type TypeDraft,
} from '../src/components/card-types/draft';

const counterparty: StoredDefinition = {
  key: 'counterparty',
  names: { ru: 'Контрагент', en: 'Counterparty' },
  titleTemplate: '{name}',
  historyEnabled: false,
  origin: 'code',
  fields: [
    { key: 'name', kind: 'string', label: { ru: 'Наименование', en: 'Name' }, required: true, order: 0, origin: 'code' },
    { key: 'inn', kind: 'string', label: { ru: 'ИНН', en: 'INN' }, order: 1, pattern: '\\d{10}|\\d{12}', origin: 'code' },
  ],
  relatedTabs: [],
};

const contract: StoredDefinition = {
  key: 'contract',
  names: { ru: 'Договор', en: 'Contract' },
  titleTemplate: '{number} от {signed}',
  historyEnabled: true,
  fields: [
    { key: 'signed', kind: 'date', label: { ru: 'Дата', en: 'Date' }, order: 1 },
    { key: 'number', kind: 'string', label: { ru: 'Номер', en: 'Number' }, required: true, order: 0 },
    { key: 'amount', kind: 'money', label: { ru: 'Сумма', en: 'Amount' }, order: 2, min: '0', scale: 2 },
    { key: 'party', kind: 'reference', label: { ru: 'Контрагент', en: 'Counterparty' }, order: 3, targets: ['counterparty'] },
  ],
  relatedTabs: [],
};

/** A small valid administrator's type to start each check from. */
function proposal(): TypeDraft {
  const draft = newType();
  draft.key = 'proposal';
  draft.names = { ru: 'Коммерческое предложение', en: 'Proposal' };
  draft.titleTemplate = '{number}';
  const number = newField('string');
  number.key = 'number';
  number.label = { ru: 'Номер', en: 'Number' };
  draft.fields = [number];
  return draft;
}

describe('the card type designer’s draft', () => {
  it('shows a stored type’s fields in their order and gives back the same definition', () => {
    const draft = typeDraft(contract);
    expect(draft.fields.map((field) => field.key)).toEqual(['number', 'signed', 'amount', 'party']);
    expect(draft.fields[2]).toMatchObject({ min: '0', scale: '2' });
    const definition = toDefinition(draft);
    expect(definition.fields.map((field) => [field.key, field.order])).toEqual([
      ['number', 0],
      ['signed', 1],
      ['amount', 2],
      ['party', 3],
    ]);
    expect(definition.fields[2]).toMatchObject({ kind: 'money', min: '0', scale: 2 });
    expect(definition.fields[3]).toMatchObject({ kind: 'reference', targets: ['counterparty'] });
    expect(definition).toMatchObject({ key: 'contract', titleTemplate: '{number} от {signed}', historyEnabled: true });
    expect(checkDraft(draft, [counterparty, contract], 'ru')).toEqual({});
  });

  it('keeps «required for new and edited cards only» while the field is required, and drops it with «required»', () => {
    const stored: StoredDefinition = { ...counterparty, fields: [{ ...counterparty.fields[0], requiredFor: 'newAndEdited' }, counterparty.fields[1]] };
    const draft = typeDraft(stored);
    expect(toDefinition(draft).fields[0]).toMatchObject({ required: true, requiredFor: 'newAndEdited' });
    draft.fields[0].required = false;
    expect(toDefinition(draft).fields[0]).not.toHaveProperty('requiredFor');
    expect(toDefinition(typeDraft({ ...counterparty, fields: [{ ...counterparty.fields[0], requiredFor: 'all' }] })).fields[0]).not.toHaveProperty('requiredFor');
  });

  it('derives keys from Russian names by transliteration, taking none that is used', () => {
    expect(typeKeyFrom('Коммерческое предложение', new Set())).toBe('kommercheskoe-predlozhenie');
    expect(typeKeyFrom('Счёт-фактура №', new Set(['schyot-faktura']))).toBe('schyot-faktura-2');
    expect(typeKeyFrom('1С: интеграция', new Set())).toMatch(/^type-1/);
    expect(typeKeyFrom('  ', new Set())).toBe('');
    expect(fieldKeyFrom('Юридический адрес', new Set())).toBe('yuridicheskiyAdres');
    expect(fieldKeyFrom('ИНН', new Set(['inn']))).toBe('inn2');
    expect(fieldKeyFrom('Сегмент', new Set())).toBe('segment');
    const draft = proposal();
    draft.fields[0].key = fieldKeyFrom('Номер договора', new Set());
    draft.titleTemplate = `{${draft.fields[0].key}}`;
    draft.key = typeKeyFrom('Договор поставки', new Set());
    expect(checkDraft(draft, [counterparty], 'ru')).toEqual({});
  });

  it('sends a value to fill in with a required field only, checked as a value of that field', () => {
    const draft = typeDraft(contract);
    const amount = draft.fields.findIndex((field) => field.key === 'amount');
    draft.fields[amount].fillMissing = 'много';
    expect(toSentDefinition(draft).fields[amount]).not.toHaveProperty('fillMissing');
    draft.fields[amount].required = true;
    expect(checkDraft(draft, [counterparty], 'ru')).toEqual({ [`fields.${amount}.fillMissing`]: expect.stringMatching(/сумм|числ/i) });
    draft.fields[amount].fillMissing = ' 1000 ';
    expect(checkDraft(draft, [counterparty], 'ru')).toEqual({});
    expect(toSentDefinition(draft).fields[amount]).toMatchObject({ required: true, fillMissing: '1000' });
    expect(toDefinition(draft).fields[amount]).not.toHaveProperty('fillMissing');
  });

  it('turns typed defaults into values of the field’s kind and trims what was typed', () => {
    const draft = proposal();
    const count = newField('integer');
    Object.assign(count, { key: 'copies', label: { ru: ' Копии ', en: 'Copies' }, default: ' 3 ' });
    const tags = newField('tags');
    Object.assign(tags, { key: 'tags', label: { ru: 'Метки', en: 'Tags' }, default: 'опт, VIP,' });
    draft.fields.push(count, tags);
    const [, copies, labels] = toDefinition(draft).fields;
    expect(copies).toMatchObject({ default: 3, label: { ru: 'Копии', en: 'Copies' } });
    expect(labels.default).toEqual(['опт', 'VIP']);
  });

  it('reports each mistake at the path and in the words the server uses for it (the kernel’s own check)', () => {
    const draft = proposal();
    draft.key = 'Proposal';
    draft.names.ru = '';
    draft.titleTemplate = '{number} {missing}';
    const duplicate = newField('string');
    Object.assign(duplicate, { key: 'number', label: { ru: 'Ещё номер', en: 'Another number' } });
    const amount = newField('money');
    Object.assign(amount, { key: 'amount', label: { ru: 'Сумма', en: 'Amount' }, min: '100', max: '10' });
    const choice = newField('enum');
    Object.assign(choice, { key: 'stage', label: { ru: 'Этап', en: 'Stage' } });
    const link = newField('reference');
    Object.assign(link, { key: 'party', label: { ru: 'Контрагент', en: 'Counterparty' } });
    draft.fields.push(duplicate, amount, choice, link);

    expect(checkDraft(draft, [counterparty], 'ru')).toEqual({
      key: 'Ключ: строчные латинские буквы и цифры через дефис, например contact-person',
      'names.ru': 'Заполните',
      'fields.1.key': 'Поле с ключом «number» уже есть',
      'fields.2.min': 'Минимум больше максимума',
      'fields.3.options': 'Добавьте хотя бы один вариант',
      'fields.4.targets': 'Укажите, на карточки каких типов ссылается поле',
      titleTemplate: 'В шаблоне неизвестное поле «missing»',
    });
    expect(checkDraft(draft, [counterparty], 'en')['fields.1.key']).toBe('There is already a field “number”');
  });

  it('accepts a related tab only through a reference field that points back to this type', () => {
    const draft = typeDraft(counterparty);
    draft.relatedTabs = [{ key: 'contracts', label: { ru: 'Договоры', en: 'Contracts' }, cardType: 'contract', referenceField: 'party' }];
    expect(checkDraft(draft, [counterparty, contract], 'ru')).toEqual({});
    draft.relatedTabs[0].referenceField = 'number';
    expect(checkDraft(draft, [counterparty, contract], 'ru')).toEqual({ 'relatedTabs.0.referenceField': 'У типа «Договор» нет поля-ссылки «number» на этот тип' });
  });

  it('refuses a default that breaks the field’s own pattern', () => {
    const draft = typeDraft(counterparty);
    draft.fields[1].default = '123';
    expect(checkDraft(draft, [counterparty], 'ru')).toEqual({ 'fields.1.default': 'Неверный формат' });
  });

  it('shows an English name the server copied from the Russian as empty, so renaming the Russian renames both', () => {
    // Left empty, the English falls back to the Russian: the server stores the copy.
    const partner: StoredDefinition = {
      ...counterparty,
      key: 'partner',
      origin: undefined,
      names: { ru: 'Партнёр', en: 'Партнёр' },
      fields: [{ key: 'name', kind: 'string', label: { ru: 'Название', en: 'Название' }, help: { ru: 'Как в уставе', en: 'As in the charter' }, order: 0 }],
    };
    const draft = typeDraft(partner);
    expect(draft.names).toEqual({ ru: 'Партнёр', en: '' });
    expect(draft.fields[0].label).toEqual({ ru: 'Название', en: '' });
    expect(draft.fields[0].help).toEqual({ ru: 'Как в уставе', en: 'As in the charter' });
    draft.names.ru = 'Дилер';
    expect(toDefinition(draft).names).toEqual({ ru: 'Дилер', en: '' });
    // An English text of its own stays as it was.
    expect(typeDraft(counterparty).names).toEqual({ ru: 'Контрагент', en: 'Counterparty' });
  });

  it('refuses a second shown field named like another (the form could not tell them apart), not a hidden one', () => {
    const draft = proposal();
    const again = newField('string');
    again.key = 'number2';
    again.label = { ru: ' номер ', en: '' };
    draft.fields.push(again);
    expect(checkDraft(draft, [], 'ru')).toEqual({ 'fields.1.label.ru': 'Поле «номер» уже есть — дайте этому полю другое название' });
    expect(checkDraft(draft, [], 'en')).toEqual({ 'fields.1.label.ru': 'There is already a field “номер” — give this one another name' });
    again.hidden = true;
    expect(checkDraft(draft, [], 'ru')).toEqual({});
  });
});
