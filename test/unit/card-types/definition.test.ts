import { expect } from 'chai';
import { orderedFields, visibleFields, type CardTypeDefinition } from '../../../card-types';
import { validateCardTypeDefinition } from '../../../card-types/definitions';
import { builtInCardTypes } from '../../../card-types/built-in';
import { label } from './fixtures';

/** A small valid admin definition to break in one place per test. */
function draft(): Record<string, unknown> & { fields: Record<string, unknown>[] } {
  return {
    key: 'supplier-invoice',
    names: { ru: 'Счёт поставщика', en: 'Supplier invoice' },
    fields: [
      { key: 'number', kind: 'string', label: { ru: 'Номер', en: 'Number' }, required: true },
      { key: 'amount', kind: 'money', label: { ru: 'Сумма', en: 'Amount' } },
    ],
    titleTemplate: 'Счёт {number}',
    historyEnabled: false,
    origin: 'admin',
  };
}

function errorsOf(input: unknown, locale: 'ru' | 'en' = 'ru'): Record<string, string> {
  const result = validateCardTypeDefinition(input, { locale });
  return result.ok ? {} : result.errors;
}

describe('card type definitions', () => {
  it('accepts the built-in types, consistent with one another', () => {
    for (const type of builtInCardTypes) {
      const result = validateCardTypeDefinition(type, { knownTypes: builtInCardTypes });
      expect(result, type.key).to.deep.include({ ok: true });
    }
    expect(builtInCardTypes.map((type) => type.key)).to.deep.equal(['counterparty', 'contact-person', 'commercial-proposal', 'contract']);
  });

  it('accepts a valid administrator definition and trims its labels', () => {
    const input = draft();
    input.names = { ru: '  Счёт поставщика ', en: 'Supplier invoice' };
    const result = validateCardTypeDefinition(input);
    expect(result.ok).to.equal(true);
    if (result.ok) expect(result.definition.names.ru).to.equal('Счёт поставщика');
  });

  it('checks the key formats of the type and of its fields', () => {
    const input = draft();
    input.key = 'Supplier Invoice';
    input.fields[0] = { ...input.fields[0], key: 'номер' };
    expect(errorsOf(input)).to.include({
      key: 'Ключ: строчные латинские буквы и цифры через дефис, например contact-person',
      'fields.0.key': 'Ключ поля: латинские буквы и цифры, начиная со строчной буквы, например legalAddress',
    });
  });

  it('names an unknown field kind and a missing label at the field', () => {
    const input = draft();
    input.fields.push({ key: 'weight', kind: 'kilograms', label });
    input.fields.push({ key: 'note', kind: 'text', label: { ru: '', en: 'Note' } });
    expect(errorsOf(input)).to.deep.equal({
      'fields.2.kind': 'Неизвестный тип поля «kilograms»',
      'fields.3.label.ru': 'Заполните',
    });
    expect(errorsOf(input, 'en')['fields.2.kind']).to.equal('Unknown field kind “kilograms”');
  });

  it('takes an English text left empty or out as the Russian one', () => {
    const input = draft();
    input.names = { ru: 'Счёт поставщика', en: '  ' };
    input.fields[0] = { ...input.fields[0], label: { ru: 'Номер' } };
    const result = validateCardTypeDefinition(input);
    expect(result.ok).to.equal(true);
    if (result.ok) {
      expect(result.definition.names).to.deep.equal({ ru: 'Счёт поставщика', en: 'Счёт поставщика' });
      expect(result.definition.fields[0].label).to.deep.equal({ ru: 'Номер', en: 'Номер' });
    }
  });

  it('refuses the name of another type, in either language, and requiredFor on an optional field', () => {
    const input = { ...draft(), names: { ru: ' контрагент', en: 'Supplier invoice' } };
    expect(validateCardTypeDefinition(input, { knownTypes: builtInCardTypes })).to.deep.equal({
      ok: false,
      errors: { 'names.ru': 'Тип «Контрагент» уже есть — выберите другое название' },
    });
    const english = { ...draft(), names: { ru: 'Счёт', en: 'CONTRACT' } };
    expect(validateCardTypeDefinition(english, { knownTypes: builtInCardTypes, locale: 'en' })).to.deep.equal({
      ok: false,
      errors: { 'names.en': 'There is already a type “Contract” — choose another name' },
    });
    const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;
    expect(validateCardTypeDefinition(counterparty, { knownTypes: builtInCardTypes }).ok).to.equal(true);
    const optional = draft();
    optional.fields[1] = { ...optional.fields[1], requiredFor: 'newAndEdited' };
    expect(errorsOf(optional)).to.deep.equal({ 'fields.1.requiredFor': 'Только для обязательного поля' });
  });

  it('refuses unknown properties, and says when a property belongs to another kind', () => {
    const input = draft();
    input.colour = '#00aa00';
    input.owner = 'me';
    input.fields[1] = { ...input.fields[1], pattern: '\\d+' };
    expect(errorsOf(input)).to.deep.equal({
      owner: 'Неизвестное свойство «owner»',
      'fields.1.pattern': 'Не применяется к полям этого типа',
    });
  });

  it('reports repeated field keys at the repetition', () => {
    const input = draft();
    input.fields.push({ key: 'number', kind: 'integer', label });
    expect(errorsOf(input)).to.deep.equal({ 'fields.2.key': 'Поле с ключом «number» уже есть' });
    expect(errorsOf(input, 'en')).to.deep.equal({ 'fields.2.key': 'There is already a field “number”' });
  });

  it('needs at least one field', () => {
    expect(errorsOf({ ...draft(), fields: [], titleTemplate: '{number}' })).to.include({ fields: 'Добавьте хотя бы одно поле' });
  });

  it('takes at most 200 fields, hidden ones included, saying so at the fields', () => {
    const many = (count: number) => Array.from({ length: count }, (_, index) => ({ key: `f${index}`, kind: 'string', label, ...(index % 2 === 1 && { hidden: true }) }));
    expect(errorsOf({ ...draft(), fields: [{ key: 'number', kind: 'string', label }, ...many(199)] })).to.deep.equal({});
    expect(errorsOf({ ...draft(), fields: [{ key: 'number', kind: 'string', label }, ...many(200)] })).to.deep.equal({
      fields: 'В типе карточек не больше 200 полей, включая скрытые (сейчас 201): уберите лишние или заведите ещё один тип',
    });
    expect(errorsOf({ ...draft(), fields: [{ key: 'number', kind: 'string', label }, ...many(200)] }, 'en')).to.deep.equal({
      fields: 'A card type has at most 200 fields, hidden ones included (now 201): remove some, or define another type',
    });
  });

  it('needs options for a choice, without repeats, and targets for a reference', () => {
    const input = draft();
    input.fields.push({ key: 'status', kind: 'enum', label, options: [] });
    input.fields.push({
      key: 'stage',
      kind: 'enum',
      label,
      options: [
        { value: 'a', label },
        { value: 'a', label },
      ],
    });
    input.fields.push({ key: 'supplier', kind: 'reference', label, targets: [] });
    expect(errorsOf(input)).to.deep.equal({
      'fields.2.options': 'Добавьте хотя бы один вариант',
      'fields.3.options.1.value': 'Вариант «a» повторяется',
      'fields.4.targets': 'Укажите, на карточки каких типов ссылается поле',
    });
  });

  it('checks limits, scale, patterns and colours', () => {
    const input = draft();
    input.colour = 'green';
    input.fields[0] = { ...input.fields[0], min: 10, max: 5, pattern: '([a-z', default: 'x' };
    input.fields[1] = { ...input.fields[1], scale: 12, min: 'ten' };
    input.fields.push({ key: 'due', kind: 'date', label, min: '2024-02-30' });
    expect(errorsOf(input)).to.deep.equal({
      colour: 'Цвет в формате #RRGGBB',
      'fields.0.pattern': 'Неверное регулярное выражение',
      'fields.0.min': 'Минимум больше максимума',
      'fields.1.scale': 'Знаков после запятой: от 0 до 10',
      'fields.1.min': 'Введите число',
      'fields.2.min': 'Введите дату в формате ДД.ММ.ГГГГ',
    });
    const inverted = draft();
    inverted.fields[1] = { ...inverted.fields[1], min: '100', max: '99.99' };
    inverted.fields.push({ key: 'due', kind: 'datetime', label, min: '2024-01-02T00:00:00Z', max: '2024-01-02T02:00:00+03:00' });
    expect(errorsOf(inverted)).to.deep.equal({ 'fields.1.min': 'Минимум больше максимума', 'fields.2.min': 'Минимум больше максимума' });
  });

  it('checks that a default is a valid value of its field', () => {
    const input = draft();
    input.fields.push({ key: 'status', kind: 'enum', label, options: [{ value: 'new', label }], default: 'old' });
    input.fields.push({ key: 'created', kind: 'date', label, default: 'today' });
    input.fields[1] = { ...input.fields[1], default: '10.555' };
    expect(errorsOf(input)).to.deep.equal({
      'fields.1.default': 'Не больше 2 знаков после запятой',
      'fields.2.default': 'Выберите значение из списка',
    });
  });

  it('allows uniqueness only where one comparable value is stored', () => {
    const input = draft();
    input.fields[0] = { ...input.fields[0], unique: true };
    input.fields.push({ key: 'labels', kind: 'tags', label, unique: true });
    input.fields.push({ key: 'notes', kind: 'text', label, unique: true });
    expect(errorsOf(input)).to.deep.equal({
      'fields.2.unique': 'Уникальность не поддерживается для полей этого типа',
      'fields.3.unique': 'Уникальность не поддерживается для полей этого типа',
    });
  });

  it('checks that the title template names existing, non-reference fields', () => {
    const input = draft();
    input.fields.push({ key: 'supplier', kind: 'reference', label, targets: ['counterparty'] });
    expect(errorsOf({ ...input, titleTemplate: 'Счёт {nomer}' })).to.deep.equal({ titleTemplate: 'В шаблоне неизвестное поле «nomer»' });
    expect(errorsOf({ ...input, titleTemplate: '{supplier}' })).to.deep.equal({
      titleTemplate: 'Поле «supplier» нельзя использовать в заголовке: это ссылка',
    });
    expect(errorsOf({ ...input, titleTemplate: 'Счёт' })).to.deep.equal({
      titleTemplate: 'Шаблон должен содержать хотя бы одно поле в фигурных скобках, например {name}',
    });
    expect(errorsOf({ ...input, titleTemplate: 'Счёт {number' })).to.deep.equal({ titleTemplate: 'Непарная фигурная скобка в шаблоне' });
  });

  it('checks references and related tabs against the other card types when they are given', () => {
    const input = draft();
    input.fields.push({ key: 'supplier', kind: 'reference', label, targets: ['counterparty', 'supplier'] });
    input.relatedTabs = [
      { key: 'contacts', label, cardType: 'contact-person', referenceField: 'counterparty' },
      { key: 'payments', label, cardType: 'payment', referenceField: 'invoice' },
    ];
    const result = validateCardTypeDefinition(input, { knownTypes: builtInCardTypes });
    expect(result).to.deep.equal({
      ok: false,
      errors: {
        'fields.2.targets.1': 'Нет типа карточек «supplier»',
        'relatedTabs.0.referenceField': 'У типа «Контактное лицо» нет поля-ссылки «counterparty» на этот тип',
        'relatedTabs.1.cardType': 'Нет типа карточек «payment»',
      },
    });
  });
});

describe('field order', () => {
  const type: CardTypeDefinition = {
    key: 'x',
    names: label,
    titleTemplate: '{a}',
    historyEnabled: false,
    origin: 'admin',
    fields: [
      { key: 'a', kind: 'string', label, order: 30 },
      { key: 'b', kind: 'string', label, order: 10, hidden: true },
      { key: 'c', kind: 'string', label, order: 20 },
    ],
  };

  it('sorts fields by their order and leaves hidden ones out of forms', () => {
    expect(orderedFields(type).map((field) => field.key)).to.deep.equal(['b', 'c', 'a']);
    expect(visibleFields(type).map((field) => field.key)).to.deep.equal(['c', 'a']);
  });
});
