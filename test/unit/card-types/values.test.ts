import { expect } from 'chai';
import { validateCardValues, type FieldDefinition } from '../../../card-types';
import { builtInCardTypes } from '../../../card-types/built-in';
import { phoneDigits } from '../../../card-types/kinds/phone';
import { check, label, objectId, otherObjectId, typeWith } from './fixtures';

const field = <F extends FieldDefinition>(definition: F): F => definition;

describe('card values: text kinds', () => {
  const name = field({ key: 'name', kind: 'string', label, required: true, max: 200 });

  it('trims strings and stores them', () => {
    expect(check(name, '  ООО «Кассиопея»  ')).to.deep.equal({ value: 'ООО «Кассиопея»' });
  });

  it('reports a missing required value in Russian by default and in English on request', () => {
    expect(check(name, '   ')).to.deep.equal({ error: 'Обязательное поле' });
    expect(check(name, undefined)).to.deep.equal({ error: 'Обязательное поле' });
    expect(check(name, null, { locale: 'en' })).to.deep.equal({ error: 'Required' });
  });

  it('limits the length with a readable message', () => {
    expect(check(name, 'я'.repeat(200))).to.deep.equal({ value: 'я'.repeat(200) });
    expect(check(name, 'я'.repeat(201))).to.deep.equal({ error: 'Не больше 200 символов' });
    expect(check({ ...name, max: 21 }, 'x'.repeat(22))).to.deep.equal({ error: 'Не больше 21 символа' });
    expect(check({ ...name, min: 3 }, 'ab', { locale: 'en' })).to.deep.equal({ error: 'At least 3 characters' });
  });

  it('applies a string limit of 500 characters when the field sets none', () => {
    const plain = field({ key: 'note', kind: 'string', label });
    expect(check(plain, 'x'.repeat(501))).to.deep.equal({ error: 'Не больше 500 символов' });
  });

  it('matches the whole value against a pattern and shows the pattern’s own message', () => {
    const code = field({
      key: 'code',
      kind: 'string',
      label,
      pattern: '[A-Z]{2}-\\d{3}',
      patternMessage: { ru: 'Код вида AB-123', en: 'A code like AB-123' },
    });
    expect(check(code, 'AB-123')).to.deep.equal({ value: 'AB-123' });
    expect(check(code, 'xAB-1234')).to.deep.equal({ error: 'Код вида AB-123' });
    expect(check(code, 'ab-123', { locale: 'en' })).to.deep.equal({ error: 'A code like AB-123' });
    expect(check({ ...code, patternMessage: undefined }, 'AB123')).to.deep.equal({ error: 'Неверный формат' });
  });

  it('keeps the lines of multi-line text, normalising line ends', () => {
    const notes = field({ key: 'notes', kind: 'text', label });
    expect(check(notes, '  first\r\nsecond\rthird \n')).to.deep.equal({ value: 'first\nsecond\nthird' });
  });

  it('accepts a number typed into a text field but not an object', () => {
    expect(check(name, 42)).to.deep.equal({ value: '42' });
    expect(check(name, { ru: 'x' })).to.deep.equal({ error: 'Введите текст' });
  });
});

describe('card values: numbers', () => {
  const count = field({ key: 'count', kind: 'integer', label, min: 0, max: 1000000 });

  it('stores integers as numbers from numbers and typed text', () => {
    expect(check(count, 42)).to.deep.equal({ value: 42 });
    expect(check(count, ' 1 000 ')).to.deep.equal({ value: 1000 });
    expect(check(count, '7,00')).to.deep.equal({ value: 7 });
  });

  it('refuses fractions, words and numbers beyond the safe range', () => {
    expect(check(count, 1.5)).to.deep.equal({ error: 'Введите целое число' });
    expect(check(count, 'двенадцать')).to.deep.equal({ error: 'Введите целое число' });
    expect(check({ ...count, max: undefined }, '9007199254740993')).to.deep.equal({ error: 'Слишком большое число' });
  });

  it('checks the range with grouped numbers in the message', () => {
    expect(check(count, -1)).to.deep.equal({ error: 'Не меньше 0' });
    expect(check(count, 1000001)).to.deep.equal({ error: 'Не больше 1\u00a0000\u00a0000' });
    expect(check(count, 1000001, { locale: 'en' })).to.deep.equal({ error: 'At most 1,000,000' });
  });

  const amount = field({ key: 'amount', kind: 'money', label, min: '0', max: '1000000' });

  it('stores money as an exact string with two decimals', () => {
    expect(check(amount, '1 234,5')).to.deep.equal({ value: '1234.50' });
    expect(check(amount, 10)).to.deep.equal({ value: '10.00' });
    expect(check(amount, '0.1')).to.deep.equal({ value: '0.10' });
    expect(check(amount, '-0')).to.deep.equal({ value: '0.00' });
  });

  it('does not drift like floating point: 0.1 + 0.2 computed in a client is refused, the exact 0.30 is kept', () => {
    expect(check(amount, 0.1 + 0.2)).to.deep.equal({ error: 'Не больше 2 знаков после запятой' });
    expect(check(amount, '0.30')).to.deep.equal({ value: '0.30' });
    expect(check({ ...amount, max: '0.3' }, '0.30')).to.deep.equal({ value: '0.30' });
    expect(check({ ...amount, max: '0.3' }, '0.31')).to.deep.equal({ error: 'Не больше 0,30' });
  });

  it('keeps every digit of large sums that a double would round', () => {
    expect(check({ ...amount, max: undefined }, '12345678901234567.89')).to.deep.equal({ value: '12345678901234567.89' });
    expect(check({ ...amount, max: undefined }, '1'.repeat(21))).to.deep.equal({ error: 'Слишком большое число' });
  });

  it('refuses ambiguous or non-numeric amounts', () => {
    expect(check(amount, '1,234.50')).to.deep.equal({ error: 'Введите число' });
    expect(check(amount, '1e3')).to.deep.equal({ error: 'Введите число' });
    expect(check(amount, '12 руб')).to.deep.equal({ error: 'Введите число' });
    expect(check(amount, '-5')).to.deep.equal({ error: 'Не меньше 0,00' });
  });

  it('stores plain decimals without trailing zeros, or at their declared scale', () => {
    const ratio = field({ key: 'ratio', kind: 'decimal', label });
    expect(check(ratio, '1.2500')).to.deep.equal({ value: '1.25' });
    expect(check(ratio, '0.0000000001')).to.deep.equal({ value: '0.0000000001' });
    expect(check(ratio, '0.00000000001')).to.deep.equal({ error: 'Не больше 10 знаков после запятой' });
    expect(check({ ...ratio, scale: 3 }, '2.5')).to.deep.equal({ value: '2.500' });
    expect(check({ ...ratio, scale: 1 }, '2.55', { locale: 'en' })).to.deep.equal({ error: 'At most 1 decimal place' });
    expect(check({ ...ratio, scale: 0 }, '2.5')).to.deep.equal({ error: 'Введите целое число' });
  });
});

describe('card values: dates', () => {
  const date = field({ key: 'date', kind: 'date', label, min: '2000-01-01', max: '2099-12-31' });

  it('stores dates as YYYY-MM-DD from ISO or Russian spelling', () => {
    expect(check(date, '2024-03-01')).to.deep.equal({ value: '2024-03-01' });
    expect(check(date, '1.3.2024')).to.deep.equal({ value: '2024-03-01' });
    expect(check(date, '29.02.2024')).to.deep.equal({ value: '2024-02-29' });
  });

  it('refuses dates that do not exist and other formats', () => {
    // Written as a date is, the day does not exist: that is what is said (not the format it already has).
    expect(check(date, '29.02.2023')).to.deep.equal({ error: 'Такой даты нет: 29.02.2023' });
    expect(check(date, '2024-13-01', { locale: 'en' })).to.deep.equal({ error: 'There is no such date: 2024-13-01' });
    expect(check(date, '1 марта 2024')).to.deep.equal({ error: 'Введите дату в формате ДД.ММ.ГГГГ' });
    expect(check(date, '2024-03-01T10:00:00Z', { locale: 'en' })).to.deep.equal({ error: 'Enter a date as YYYY-MM-DD' });
  });

  it('checks the range and names the limit as a person writes it', () => {
    expect(check(date, '31.12.1999')).to.deep.equal({ error: 'Не раньше 01.01.2000' });
    expect(check(date, '2100-01-01', { locale: 'en' })).to.deep.equal({ error: 'Not after 2099-12-31' });
  });

  const moment = field({ key: 'moment', kind: 'datetime', label, min: '2024-01-01T00:00:00Z' });

  it('stores date-times as UTC ISO strings', () => {
    expect(check(moment, '2024-03-01T12:30:00+03:00')).to.deep.equal({ value: '2024-03-01T09:30:00.000Z' });
    expect(check(moment, '2024-03-01 09:30Z')).to.deep.equal({ value: '2024-03-01T09:30:00.000Z' });
    expect(check(moment, new Date('2024-05-05T05:05:05.005Z'))).to.deep.equal({ value: '2024-05-05T05:05:05.005Z' });
  });

  it('refuses date-times without a time zone or with impossible parts', () => {
    expect(check(moment, '2024-03-01T12:30')).to.deep.equal({ error: 'Введите дату и время с часовым поясом' });
    expect(check(moment, '2024-02-30T12:30Z')).to.deep.equal({ error: 'Введите дату и время с часовым поясом' });
    expect(check(moment, '2024-03-01T24:30Z')).to.deep.equal({ error: 'Введите дату и время с часовым поясом' });
    expect(check(moment, '2023-12-31T23:59:59Z')).to.deep.equal({ error: 'Не раньше 01.01.2024 00:00' });
  });
});

describe('card values: yes/no and choices', () => {
  const active = field({ key: 'active', kind: 'boolean', label, required: true });

  it('stores booleans, and false counts as a value', () => {
    expect(check(active, false)).to.deep.equal({ value: false });
    expect(check(active, 'true')).to.deep.equal({ value: true });
    expect(check(active, 'да')).to.deep.equal({ error: 'Выберите «да» или «нет»' });
  });

  const options = [
    { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
    { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } },
    { value: 'accepted', label: { ru: 'Принято', en: 'Accepted' } },
  ];
  const status = field({ key: 'status', kind: 'enum', label, options });
  const channels = field({ key: 'channels', kind: 'enum', label, options, multiple: true });

  it('accepts one of the options for a single choice', () => {
    expect(check(status, 'sent')).to.deep.equal({ value: 'sent' });
    expect(check(status, 'Отправлено')).to.deep.equal({ error: 'Выберите значение из списка' });
    expect(check(status, ['sent', 'draft'])).to.deep.equal({ error: 'Можно выбрать только одно значение' });
  });

  it('stores a multiple choice without repeats, in the order of the options', () => {
    expect(check(channels, ['accepted', 'draft', 'accepted'])).to.deep.equal({ value: ['draft', 'accepted'] });
    expect(check(channels, 'sent')).to.deep.equal({ value: ['sent'] });
    expect(check(channels, ['sent', 'lost'], { locale: 'en' })).to.deep.equal({ error: 'Choose a value from the list' });
    expect(check({ ...channels, required: true }, [])).to.deep.equal({ error: 'Обязательное поле' });
  });
});

describe('card values: contacts', () => {
  const email = field({ key: 'email', kind: 'email', label });
  const phone = field({ key: 'phone', kind: 'phone', label });
  const site = field({ key: 'site', kind: 'url', label });

  it('accepts e-mails, lower-casing only the domain, including Cyrillic domains', () => {
    expect(check(email, ' Ivan.Petrov@Mail.RU ')).to.deep.equal({ value: 'Ivan.Petrov@mail.ru' });
    expect(check(email, 'info@кассиопея.рф')).to.deep.equal({ value: 'info@кассиопея.рф' });
  });

  it('refuses what is not an e-mail with the usual message', () => {
    for (const wrong of ['ivan', 'ivan@', '@mail.ru', 'ivan@mail', 'iv an@mail.ru', 'ivan@@mail.ru', 'ivan..p@mail.ru']) {
      expect(check(email, wrong), wrong).to.deep.equal({ error: 'Введите корректный e-mail' });
    }
    expect(check(email, 'x', { locale: 'en' })).to.deep.equal({ error: 'Enter a valid e-mail' });
  });

  it('normalises phone numbers written in any usual way to one international form', () => {
    expect(check(phone, '8 (495) 123-45-67')).to.deep.equal({ value: '+7 495 123 45 67' });
    expect(check(phone, '+7 916 123 45 67')).to.deep.equal({ value: '+7 916 123 45 67' });
    expect(check(phone, '9161234567')).to.deep.equal({ value: '+7 916 123 45 67' });
    expect(check(phone, '+49 30 1234567')).to.deep.equal({ value: '+49 30 1234567' });
    expect(check(phone, '+7 495 123-45-67 доб. 123')).to.deep.equal({ value: '+7 495 123 45 67 доб. 123' });
  });

  it('stores a phone so that validating it again gives the same value', () => {
    const stored = check(phone, '8 495 123-45-67 ext 9').value;
    expect(check(phone, stored)).to.deep.equal({ value: stored });
  });

  it('refuses what cannot be a phone number', () => {
    expect(check(phone, '123')).to.deep.equal({ error: 'Введите номер телефона, например +7 495 123-45-67' });
    expect(check(phone, 'позвонить Ивану')).to.deep.equal({ error: 'Введите номер телефона, например +7 495 123-45-67' });
  });

  it('gives the digits of a phone for search, whichever way it was written', () => {
    expect(phoneDigits('+7 495 123 45 67 доб. 123')).to.equal('74951234567');
    expect(phoneDigits('8 (495) 123-45-67')).to.equal('74951234567');
    expect(phoneDigits('123-45-67')).to.equal('1234567');
  });

  it('accepts web sites with or without the scheme and refuses other schemes', () => {
    expect(check(site, 'sberbank.ru')).to.deep.equal({ value: 'https://sberbank.ru' });
    expect(check(site, 'http://example.com/about?x=1')).to.deep.equal({ value: 'http://example.com/about?x=1' });
    expect(check(site, 'кассиопея.рф')).to.deep.equal({ value: 'https://кассиопея.рф' });
    for (const wrong of ['javascript:alert(1)', 'ftp://example.com', 'localhost.', 'just words', 'example']) {
      expect(check(site, wrong), wrong).to.deep.equal({ error: 'Введите адрес сайта, например https://example.ru' });
    }
  });
});

describe('card values: tags, references, users', () => {
  const tags = field({ key: 'tags', kind: 'tags', label });

  it('stores tags as unique trimmed strings from a list or a comma-separated line', () => {
    expect(check(tags, [' VIP ', 'опт', 'vip', '', 'Опт'])).to.deep.equal({ value: ['VIP', 'опт'] });
    expect(check(tags, 'VIP, опт ,, розница')).to.deep.equal({ value: ['VIP', 'опт', 'розница'] });
    expect(check(tags, ' , ')).to.deep.equal({});
    expect(check(tags, [1, 2])).to.deep.equal({ error: 'Введите метки через запятую' });
    expect(check(tags, ['x'.repeat(101)])).to.deep.equal({ error: 'Метка не длиннее 100 символов' });
  });

  const counterparty = field({ key: 'counterparty', kind: 'reference', label, targets: ['counterparty'] });
  const related = field({ key: 'related', kind: 'reference', label, targets: ['counterparty'], multiple: true });
  const manager = field({ key: 'manager', kind: 'user', label });

  it('stores references as lower-case ObjectId strings', () => {
    expect(check(counterparty, objectId.toUpperCase())).to.deep.equal({ value: objectId });
    expect(check(related, [objectId, otherObjectId, objectId])).to.deep.equal({ value: [objectId, otherObjectId] });
    expect(check(counterparty, 'Кассиопея')).to.deep.equal({ error: 'Неверная ссылка на карточку' });
    expect(check(counterparty, [objectId, otherObjectId])).to.deep.equal({ error: 'Можно выбрать только одно значение' });
    expect(check(manager, objectId)).to.deep.equal({ value: objectId });
    expect(check(manager, 'tatiana', { locale: 'en' })).to.deep.equal({ error: 'Invalid user reference' });
  });
});

describe('card values: the whole card', () => {
  const [counterparty, , proposal] = builtInCardTypes;
  if (!counterparty || !proposal) throw new Error('built-in types missing');

  it('reports every field at once and an unknown key under its own name', () => {
    const { errors } = validateCardValues(counterparty, { name: '', email: 'nope', colour: 'red' });
    expect(errors).to.deep.equal({ name: 'Обязательное поле', email: 'Введите корректный e-mail', colour: 'Неизвестное поле' });
  });

  it('leaves empty fields out of the stored values', () => {
    const { values, errors } = validateCardValues(counterparty, { name: 'Кассиопея', phone: '', tags: [], notes: null });
    expect(errors).to.deep.equal({});
    expect(values).to.deep.equal({ name: 'Кассиопея' });
  });

  it('fills defaults on create only, with today’s date in the given time zone', () => {
    const now = new Date('2024-03-01T22:30:00Z');
    const input = { number: 'КП-15', counterparty: objectId };
    const created = validateCardValues(proposal, input, { applyDefaults: true, now, timeZone: 'Europe/Moscow' });
    expect(created.values).to.deep.equal({ number: 'КП-15', counterparty: objectId, status: 'draft', date: '2024-03-02' });
    expect(validateCardValues(proposal, input, { now }).errors).to.deep.equal({ date: 'Обязательное поле', status: 'Обязательное поле' });
  });

  it('does not put a default over a value the author cleared', () => {
    const { errors } = validateCardValues(proposal, { number: '1', counterparty: objectId, status: '' }, { applyDefaults: true });
    expect(errors).to.deep.equal({ status: 'Обязательное поле' });
  });

  it('takes no value for a removed (hidden) field, and does not require it', () => {
    const type = typeWith({ key: 'name', kind: 'string', label }, { key: 'legacyCode', kind: 'string', label, required: true, hidden: true });
    expect(validateCardValues(type, { name: 'a', legacyCode: ' A-1 ' }).errors).to.deep.equal({ legacyCode: 'Поле скрыто администратором: его значения хранятся, но не меняются' });
    expect(validateCardValues(type, { name: 'a', legacyCode: null })).to.deep.equal({ values: { name: 'a' }, errors: {} });
    expect(validateCardValues(type, { name: 'a' }, { applyDefaults: true }).errors).to.deep.equal({});
  });

  it('a field required for new and edited cards only binds new cards and edits that touch it', () => {
    const type = typeWith({ key: 'name', kind: 'string', label }, { key: 'segment', kind: 'string', label, required: true, requiredFor: 'newAndEdited' });
    expect(validateCardValues(type, { name: 'a' }, { applyDefaults: true }).errors).to.deep.equal({ segment: 'Обязательное поле' });
    expect(validateCardValues(type, { name: 'b' }, { touched: new Set(['name']) }).errors).to.deep.equal({});
    expect(validateCardValues(type, { name: 'b' }, { touched: new Set(['name', 'segment']) }).errors).to.deep.equal({ segment: 'Обязательное поле' });
    expect(validateCardValues(type, { name: 'b' }).errors).to.deep.equal({ segment: 'Обязательное поле' });
  });

  it('runs a pattern on at most 1,000 characters', () => {
    const type = typeWith({ key: 'code', kind: 'text', label, pattern: '[a-z ]*' });
    expect(validateCardValues(type, { code: 'a'.repeat(1000) }).errors).to.deep.equal({});
    expect(validateCardValues(type, { code: 'a'.repeat(1001) }).errors).to.deep.equal({ code: 'Значение поля с шаблоном — не больше 1000 символов' });
  });

  it('gives the same stored values when stored values are validated again', () => {
    const input = { name: ' Кассиопея ', phone: '8 495 1234567', email: 'A@B.RU', website: 'b.ru', tags: 'a, b', inn: '7707083893' };
    const first = validateCardValues(counterparty, input);
    expect(validateCardValues(counterparty, first.values)).to.deep.equal(first);
  });
});
