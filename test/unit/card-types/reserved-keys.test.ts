import { expect } from 'chai';
import { renderTitle, searchIndexOf, validateCardValues, type CardTypeDefinition } from '../../../card-types';
import { validateCardTypeDefinition } from '../../../card-types/definitions';
import { effectiveRules } from '../../../server/src/duplicates/rules';
import { label, typeWith } from './fixtures';

const RESERVED = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'];
const RESERVED_MESSAGE = 'Этот ключ зарезервирован (constructor, toString, valueOf …): выберите другой';

const definition = (typeKey: string, fieldKey: string) => ({
  key: typeKey,
  names: { ru: 'Образец', en: 'Sample' },
  fields: [{ key: fieldKey, kind: 'string', label }],
  titleTemplate: `{${fieldKey}}`,
  historyEnabled: false,
  origin: 'admin',
});

const errorsOf = (input: unknown, locale: 'ru' | 'en' = 'ru') => {
  const result = validateCardTypeDefinition(input, { locale });
  return result.ok ? {} : result.errors;
};

describe('keys every object inherits (constructor, toString, __proto__ …)', () => {
  it('are refused as type keys and field keys, with a message saying why', () => {
    expect(errorsOf(definition('constructor', 'name'))).to.deep.equal({ key: RESERVED_MESSAGE });
    for (const key of RESERVED.filter((key) => /^[a-z][a-zA-Z0-9]*$/.test(key))) {
      expect(errorsOf(definition('sample', key)), key).to.deep.include({ 'fields.0.key': RESERVED_MESSAGE });
    }
    expect(errorsOf(definition('sample', 'valueOf'), 'en')).to.deep.include({ 'fields.0.key': 'This key is reserved (constructor, toString, valueOf …): choose another one' });
    // Near names are ordinary keys.
    expect(validateCardTypeDefinition(definition('constructors', 'toStringValue')).ok).to.equal(true);
  });

  it('sent as card values, are unknown fields like any other — __proto__ included', () => {
    const type = typeWith({ key: 'name', kind: 'string', label });
    for (const key of RESERVED) {
      const { errors } = validateCardValues(type, JSON.parse(`{"name": "ООО «Альфа»", ${JSON.stringify(key)}: "x"}`) as Record<string, unknown>);
      expect(Object.entries(errors), key).to.deep.equal([[key, 'Неизвестное поле']]);
    }
  });

  it('as the key of a field stored before they were refused, read only the card’s own value: required, title and search', () => {
    const type: CardTypeDefinition = { ...typeWith({ key: 'constructor', kind: 'string', label, required: true }), titleTemplate: '{constructor}' };
    expect(validateCardValues(type, {}).errors).to.deep.equal({ constructor: 'Обязательное поле' });
    expect(validateCardValues(type, { constructor: 'ООО «Альфа»' })).to.deep.equal({ values: { constructor: 'ООО «Альфа»' }, errors: {} });
    expect(renderTitle(type, {})).to.equal('Образец');
    expect(searchIndexOf(type, 'Образец', {}).searchText).to.equal('образец');
  });

  it('as a type key, give the type no built-in duplicate rules (the rules page and start-up keep working)', () => {
    const type: CardTypeDefinition = { ...typeWith({ key: 'name', kind: 'string', label }), key: 'constructor' };
    expect(effectiveRules(type, undefined).rules).to.deep.equal([]);
  });
});
