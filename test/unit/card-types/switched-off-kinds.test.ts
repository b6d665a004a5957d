import { expect } from 'chai';
import { findFieldKind, formatValue, validateCardValues, type CardTypeDefinition } from '../../../card-types';
import { validateCardTypeDefinition } from '../../../card-types/definitions';
import { label } from './fixtures';

/** «Поставщик» as stored while a plugin gave it the kind `snils`; that plugin is off now (the kind is not registered). */
const supplier: CardTypeDefinition = {
  key: 'supplier',
  names: { ru: 'Поставщик', en: 'Supplier' },
  titleTemplate: '{name}',
  historyEnabled: false,
  origin: 'admin',
  fields: [
    { key: 'name', kind: 'string', label, required: true },
    { key: 'snils', kind: 'snils', label: { ru: 'СНИЛС', en: 'SNILS' }, unique: true, checksum: 'strict' },
  ],
};
const OFF = 'Тип поля «snils» сейчас недоступен (его модуль выключен): хранимое значение сохраняется, но изменить его нельзя';

describe('fields of a kind whose plugin is off', () => {
  before(() => expect(findFieldKind('snils')).to.equal(undefined));

  it('keep the stored value through an edit that leaves them alone, and refuse any new value — objects, huge text, deep nesting', () => {
    const stored = { name: 'ООО «Поставка»', snils: '112-233-445 95' };
    expect(validateCardValues(supplier, { ...stored, name: 'ООО «Поставка-2»' }, { touched: new Set(['name']) })).to.deep.equal({
      values: { name: 'ООО «Поставка-2»', snils: '112-233-445 95' },
      errors: {},
    });
    let nested: unknown = 'x';
    for (let depth = 0; depth < 25; depth += 1) nested = { nested };
    for (const sent of [{ a: 1 }, 'x'.repeat(900_000), nested, '112-233-445 96']) {
      expect(validateCardValues(supplier, { ...stored, snils: sent }, { touched: new Set(['snils']) }).errors).to.deep.equal({ snils: OFF });
      expect(validateCardValues(supplier, { name: 'ООО «Новая»', snils: sent }, { applyDefaults: true }).errors).to.deep.equal({ snils: OFF });
    }
    expect(validateCardValues(supplier, { name: 'ООО «Новая»', snils: 1 }, { applyDefaults: true, locale: 'en' }).errors).to.deep.equal({
      snils: 'The field kind “snils” is unavailable now (its plugin is off): the stored value is kept but cannot be changed',
    });
  });

  it('pass the definition check when sent back as stored (another field changed), not as new fields', () => {
    const relabelled = { ...supplier, fields: supplier.fields.map((field) => (field.key === 'name' ? { ...field, label: { ru: 'Наименование', en: 'Name' } } : field)) };
    expect(validateCardTypeDefinition(relabelled, { knownTypes: [supplier] })).to.deep.include({ ok: true });
    const added = { ...supplier, fields: [...supplier.fields, { key: 'passport', kind: 'snils', label }] };
    expect(validateCardTypeDefinition(added, { knownTypes: [supplier] })).to.deep.equal({ ok: false, errors: { 'fields.2': 'Неизвестный тип поля «snils»' } });
    expect(validateCardTypeDefinition(supplier)).to.deep.include({ ok: false });
  });

  it('show what they hold: text as it is, anything else as its raw text, marked', () => {
    const field = supplier.fields[1];
    expect(formatValue(field, '112-233-445 95', { locale: 'ru' })).to.equal('112-233-445 95');
    expect(formatValue(field, { a: 1 } as never, { locale: 'ru' })).to.equal('⚠\u00a0{"a":1}');
  });
});
