import { expect } from 'chai';
import { findFieldKind, formatValue, type FieldDefinition } from '../../../card-types';
import { canConvertKind, planFieldChange, validateCardTypeDefinition } from '../../../card-types/definitions';
import { check, label, typeWith } from '../card-types/fixtures';

/** «Оценка (1–5)», the kind added as card-types/kinds/rating.ts with client/src/field-kinds/rating.vue and nothing else. */
describe('field kind «rating»', () => {
  const stars: FieldDefinition = { key: 'score', kind: 'rating', label };

  it('is registered from its module alone, named in both languages', () => {
    expect(findFieldKind('rating')?.labels).to.deep.equal({ ru: 'Оценка (1–5)', en: 'Rating (1–5)' });
  });

  it('stores 1 to 5 stars as a number, from a number or typed text', () => {
    expect(check(stars, 4)).to.deep.equal({ value: 4 });
    expect(check(stars, ' 5 ')).to.deep.equal({ value: 5 });
    expect(check(stars, '1')).to.deep.equal({ value: 1 });
  });

  it('refuses anything else with one message in both languages', () => {
    for (const wrong of [0, 6, 2.5, '-1', 'пять', true]) expect(check(stars, wrong), String(wrong)).to.deep.equal({ error: 'Оценка — от 1 до 5' });
    expect(check(stars, 9, { locale: 'en' })).to.deep.equal({ error: 'A rating is 1 to 5' });
    expect(check({ ...stars, required: true }, null)).to.deep.equal({ error: 'Обязательное поле' });
  });

  it('reads as stars in titles and lists', () => {
    expect(formatValue(stars, 3, { locale: 'ru' })).to.equal('★★★☆☆');
    expect(formatValue(stars, 5, { locale: 'en' })).to.equal('★★★★★');
  });

  it('filters by «not less than»: a range from the chosen number of stars', () => {
    const kind = findFieldKind('rating')!;
    expect(kind.filter.operators).to.include('range');
    expect(kind.filter.bound('4', stars)).to.equal(4);
    expect(kind.filter.bound('7', stars)).to.equal(undefined);
    expect(kind.index.sortable).to.equal(true);
  });

  it('takes a default of 1 to 5 in a definition, and names a wrong one at the field', () => {
    expect(validateCardTypeDefinition(typeWith({ key: 'title', kind: 'string', label }, { ...stars, default: 3 })).ok).to.equal(true);
    const wrong = validateCardTypeDefinition(typeWith({ key: 'title', kind: 'string', label }, { ...stars, default: 8 }));
    expect(wrong).to.deep.equal({ ok: false, errors: { 'fields.1.default': 'Оценка — от 1 до 5' } });
    // Typed as text, as card values may be: taken, and kept as the number.
    const typed = validateCardTypeDefinition(typeWith({ key: 'title', kind: 'string', label }, { ...stars, default: '4' }));
    expect(typed.ok && typed.definition.fields[1].default).to.equal(4);
    expect(validateCardTypeDefinition(typeWith({ key: 'title', kind: 'string', label }, { ...stars, default: '6' }))).to.deep.equal(wrong);
    expect(validateCardTypeDefinition(typeWith({ ...stars, options: [] })).ok).to.equal(false);
  });

  it('converts from whole numbers: 1–5 carry over, the rest are reported per card', () => {
    expect(canConvertKind('integer', 'rating')).to.equal(true);
    expect(canConvertKind('rating', 'string')).to.equal(true);
    expect(canConvertKind('date', 'rating')).to.equal(false);
    const plan = planFieldChange({ key: 'score', kind: 'integer', label }, stars, [
      { cardId: 'c1', value: 4 },
      { cardId: 'c2', value: 10 },
    ]);
    expect(plan).to.include({ allowed: true, safe: false });
    expect(plan.failures).to.deep.equal([{ cardId: 'c2', value: 10, reason: 'Оценка — от 1 до 5' }]);
    expect(plan.updates).to.deep.equal([]);
  });

  it('becomes text as stars', () => {
    const plan = planFieldChange(stars, { key: 'score', kind: 'string', label }, [{ cardId: 'c1', value: 2 }]);
    expect(plan.updates).to.deep.equal([{ cardId: 'c1', value: '★★☆☆☆' }]);
  });
});
