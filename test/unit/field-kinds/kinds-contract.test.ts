import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { checkFieldValue, fieldKinds, filterOperators, formatValue, isMultiValued, kindOf, type FieldDefinition } from '../../../card-types';
import { settingsSchemaOf, validateCardTypeDefinition } from '../../../card-types/definitions';
import requisiteKinds from '../../../plugins/russian-requisites/kinds';
import { label } from '../card-types/fixtures';

/** Settings a kind cannot do without, for a field of it to be valid. */
const needs: Record<string, Partial<FieldDefinition>> = {
  enum: { options: [{ value: 'a', label: { ru: 'А', en: 'A' } }] },
  reference: { targets: ['sample'] },
};
const fieldOf = (kind: string): FieldDefinition => ({ key: `${kind}Field`, kind, label, ...needs[kind] });

describe('field kinds: the contract every kind keeps', () => {
  it('registers every module in card-types/kinds, and only those besides the kinds of enabled plugins (fixtures: russian-requisites)', () => {
    const files = readdirSync(new URL('../../../card-types/kinds/', import.meta.url)).map((name) => name.replace(/\.ts$/, ''));
    expect(
      fieldKinds()
        .map((kind) => kind.key)
        .sort(),
    ).to.deep.equal([...files, ...requisiteKinds.map((kind) => kind.key)].sort());
    expect(fieldKinds()).to.have.length.of.at.least(16);
  });

  for (const kind of fieldKinds()) {
    describe(`«${kind.labels.ru}» (${kind.key})`, () => {
      const field = fieldOf(kind.key);

      it('is valid in a definition with no more than it needs', () => {
        const result = validateCardTypeDefinition({
          key: 'sample',
          names: label,
          fields: [{ key: 'title', kind: 'string', label }, field],
          titleTemplate: '{title}',
          historyEnabled: false,
          origin: 'admin',
        });
        expect(result).to.deep.include({ ok: true });
      });

      it('parses a stored value back to itself, so a card read and written back is unchanged', () => {
        const sample = kind.sample(field, 'ru') ?? (kind.link ? (kind.multiple(field) ? ['65a1b2c3d4e5f6a7b8c9d0e1'] : '65a1b2c3d4e5f6a7b8c9d0e1') : undefined);
        const first = checkFieldValue(field, sample);
        expect(first, String(sample)).to.have.property('value');
        const stored = (first as { value: unknown }).value;
        expect(checkFieldValue(field, stored)).to.deep.equal({ value: stored });
        expect(kind.reads(stored, field), 'reads its own stored form').to.equal(true);
        expect(formatValue(field, stored as never, { locale: 'ru' }))
          .to.be.a('string')
          .and.not.equal('')
          .and.not.contain('⚠');
      });

      it('formats any value a field may be left holding — shown as it is stored, marked, when the kind cannot read it — and never throws', () => {
        const leftovers = [42, -37, 0, 1.5, 'abc', 'undefined', true, { a: 1 }, [1, 'x'], [[]], 1e300];
        for (const value of leftovers) {
          const text = formatValue(field, value as never, { locale: 'ru', timeZone: 'Europe/Moscow', linkText: (id) => id });
          expect(text, JSON.stringify(value)).to.be.a('string');
          if (!kind.reads(value, field)) expect(text, JSON.stringify(value)).to.match(/^⚠\u00a0/);
          expect(() => kind.toCell(value as never, field, { locale: 'ru' }), JSON.stringify(value)).to.not.throw();
          expect(() => kind.normalizeForSearch(value as never, field), JSON.stringify(value)).to.not.throw();
        }
      });

      it('names its filter operators among those of the API, empty and filled always among them', () => {
        for (const operator of kind.filter.operators) expect(filterOperators).to.include(operator);
        expect(kind.filter.operators).to.include.members(['empty', 'notEmpty']);
      });

      it('says whether a value is a list the same way on server and client (multiple only when the field says so)', () => {
        expect(isMultiValued(field)).to.equal(kind.multiple(field));
        if ('multiple' in settingsSchemaOf(kind)) {
          expect(isMultiValued({ ...field, multiple: false })).to.equal(false);
          expect(isMultiValued({ ...field, multiple: true })).to.equal(true);
        }
      });
    });
  }

  it('shows what a kind change left behind as the raw text, marked: 42 or -37 in a rating, text in a date or a date-time', () => {
    const show = (kind: string, value: unknown) => formatValue(fieldOf(kind), value as never, { locale: 'ru', timeZone: 'UTC' });
    expect(show('rating', 42)).to.equal('⚠\u00a042');
    expect(show('rating', -37)).to.equal('⚠\u00a0-37');
    expect(show('rating', 4)).to.equal('★★★★☆');
    expect(show('date', 'abc')).to.equal('⚠\u00a0abc');
    expect(show('date', '2025-01-31')).to.equal('31.01.2025');
    expect(show('datetime', 'вчера вечером')).to.equal('⚠\u00a0вчера вечером');
    expect(show('integer', '007')).to.equal('⚠\u00a0007');
    expect(show('string', { nested: { deep: true } })).to.equal('⚠\u00a0{"nested":{"deep":true}}');
  });

  it('treats a single reference as one id and a multiple one as a list', () => {
    const single = fieldOf('reference');
    expect(kindOf(single).multiple(single)).to.equal(false);
    expect(checkFieldValue(single, ['65a1b2c3d4e5f6a7b8c9d0e1'])).to.deep.equal({ error: { ru: 'Можно выбрать только одно значение', en: 'Only one value is allowed' } });
    expect(checkFieldValue(single, '65A1B2C3D4E5F6A7B8C9D0E1')).to.deep.equal({ value: '65a1b2c3d4e5f6a7b8c9d0e1' });
    expect(checkFieldValue({ ...single, multiple: true }, ['65a1b2c3d4e5f6a7b8c9d0e1'])).to.deep.equal({ value: ['65a1b2c3d4e5f6a7b8c9d0e1'] });
  });
});
