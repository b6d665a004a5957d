import { describe, expect, it } from 'vitest';
import { formatValue, isEmptyValue, prepareFieldKinds, type FieldDefinition } from '../../card-types';
import { changedValues, checkForm, contestedKeys, initialForm } from '../src/workspace/values';

const field = (key: string, kind: string, extra: Partial<FieldDefinition> = {}): FieldDefinition => ({ key, kind, label: { ru: key, en: key }, ...extra });

const name = field('name', 'string');
const amount = field('amount', 'money');
const count = field('count', 'integer');
const signed = field('signed', 'date');
const active = field('active', 'boolean');
const tags = field('tags', 'tags');
const phone = field('phone', 'phone');
const owner = field('owner', 'reference', { targets: ['counterparty'] });
const stage = field('stage', 'enum', {
  options: [
    { value: 'draft', label: { ru: 'Черновик', en: 'Draft' } },
    { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } },
  ],
});

describe('card values between the form and the API (the kernel’s check, in the browser)', () => {
  it('sends what the user typed in its stored form: exact decimals as text, whole numbers as numbers, one id for a single reference', () => {
    const id = '65a1b2c3d4e5f6a7b8c9d0e1';
    const checked = checkForm([name, amount, count, owner, tags], { name: '   ', amount: ' 1 234 567,50 ', count: '42', owner: id, tags: [] }, 'ru');
    expect(checked).toEqual({ values: { amount: '1234567.50', count: 42, owner: id }, errors: {} });
  });

  it('says what is wrong before anything is sent, in the server’s words and language', () => {
    expect(checkForm([count, { ...name, required: true }], { count: '4.2', name: '' }, 'ru').errors).toEqual({ count: 'Введите целое число', name: 'Обязательное поле' });
    expect(checkForm([owner], { owner: ['65a1b2c3d4e5f6a7b8c9d0e1', '65a1b2c3d4e5f6a7b8c9d0e2'] }, 'en').errors).toEqual({ owner: 'Only one value is allowed' });
  });

  it('does not refuse an edit for an empty field required for new and edited cards only that the edit leaves alone', () => {
    const segment = field('segment', 'string', { required: true, requiredFor: 'newAndEdited' });
    const stored = { name: 'ООО «Альфа»' };
    expect(checkForm([name, segment], { name: 'ООО «Альфа-М»', segment: undefined }, 'ru', stored).errors).toEqual({});
    expect(checkForm([name, segment], { name: 'ООО «Альфа»', segment: '' }, 'ru', stored).errors).toEqual({});
    expect(checkForm([name, segment], { name: 'ООО «Альфа»', segment: '  ' }, 'ru', { ...stored, segment: 'опт' }).errors).toEqual({ segment: 'Обязательное поле' });
    expect(checkForm([name, segment], { name: 'ООО «Бета»' }, 'ru').errors).toEqual({ segment: 'Обязательное поле' });
  });

  it('says at the field, before sending, that a card may hold 100 tags and 200,000 characters; a card over them from before may stay or shrink', () => {
    const labels = (count: number) => Array.from({ length: count }, (_, i) => `метка ${i}`);
    expect(checkForm([name, tags], { name: 'ООО «Метки»', tags: labels(101) }, 'ru').errors).toEqual({ tags: 'Не больше 100 значений' });
    expect(checkForm([name, tags], { name: 'ООО «Метки»', tags: labels(100) }, 'en').errors).toEqual({});
    const stored = { name: 'ООО «Старая»', tags: labels(300) };
    expect(checkForm([name, tags], { ...stored, name: 'ООО «Старая-2»' }, 'ru', stored).errors).toEqual({});
    expect(checkForm([name, tags], { ...stored, tags: labels(301) }, 'en', stored).errors).toEqual({ tags: 'At most 100 values' });

    const notes = Array.from({ length: 11 }, (_, i) => field(`n${i}`, 'text'));
    const full = Object.fromEntries(notes.map((note) => [note.key, 'з'.repeat(20_000)]));
    expect(checkForm(notes, full, 'ru').errors).toEqual({ n0: 'Карточка слишком большая (символов: 220\u00a0023, предел 200\u00a0000) — сократите это поле' });
    expect(checkForm(notes, { ...full, n3: 'коротко' }, 'ru', full).errors).toEqual({});
  });

  it('checks phone numbers once their rules have loaded, as the server does', async () => {
    await prepareFieldKinds([phone]);
    expect(checkForm([phone], { phone: '8 (495) 123-45-67' }, 'ru').values).toEqual({ phone: '+7 495 123 45 67' });
    expect(checkForm([phone], { phone: '12' }, 'ru').errors).toEqual({ phone: 'Введите номер телефона, например +7 495 123-45-67' });
  });

  it('fills the form with the stored values, which the kinds’ inputs show as they are', () => {
    const stored = { tags: ['опт', 'VIP'], owner: '65a1b2c3d4e5f6a7b8c9d0e1', active: true, count: null };
    expect(initialForm([tags, owner, active, count], stored)).toEqual(stored);
  });

  it('sends only the fields that changed, and null for a field the user cleared', () => {
    const stored = { name: 'ООО «Ромашка»', amount: '100.00', tags: ['опт'] };
    const form = { ...initialForm([name, amount, tags], stored), name: 'ООО «Ромашка-2»', amount: '100', tags: [] as string[] };
    const checked = checkForm([name, amount, tags], form, 'ru');
    expect(changedValues([name, amount, tags], stored, checked.values)).toEqual({ name: 'ООО «Ромашка-2»', tags: null });
  });

  it('starts a new card at each field’s default, today’s date in local time', () => {
    const form = initialForm([name, signed, active, field('city', 'string', { default: 'Москва' })], null);
    expect(form).toEqual({ name: undefined, signed: undefined, active: undefined, city: 'Москва' });
    expect(checkForm([name, signed, active, field('city', 'string')], { ...form, name: 'ООО «Лютик»' }, 'ru').values).toEqual({ name: 'ООО «Лютик»', city: 'Москва' });
    const today = new Date();
    const todayIso = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    expect(initialForm([field('signed', 'date', { default: 'today' })], null).signed).toBe(todayIso);
  });

  it('treats blank text and empty lists as empty', () => {
    expect([null, undefined, '  ', [], ''].every(isEmptyValue)).toBe(true);
    expect([0, false, 'x', ['x']].some(isEmptyValue)).toBe(false);
  });
});

describe('card values as text (the kernel’s format)', () => {
  it('groups money by thousands with the separators of the language, without rounding', () => {
    expect(formatValue(amount, '1234567.505', { locale: 'ru' })).toBe('1\u00a0234\u00a0567,505');
    expect(formatValue(amount, '1234567.505', { locale: 'en' })).toBe('1,234,567.505');
  });

  it('shows dates as day.month.year, choices by their label, yes/no in words', () => {
    expect(formatValue(signed, '2026-03-08', { locale: 'ru' })).toBe('08.03.2026');
    expect(formatValue(stage, 'sent', { locale: 'ru' })).toBe('Отправлено');
    expect(formatValue(stage, 'sent', { locale: 'en' })).toBe('Sent');
    expect(formatValue(active, false, { locale: 'ru' })).toBe('Нет');
  });

  it('names referenced cards as the page knows them: a title, «нет доступа», «…» while loading', () => {
    const titles: Record<string, string> = { a: 'ООО «Ромашка»', b: 'нет доступа' };
    expect(formatValue({ ...owner, multiple: true }, ['a', 'b', 'c'], { locale: 'ru', linkText: (id) => titles[id] ?? '…' })).toBe('ООО «Ромашка», нет доступа, …');
  });
});

describe('contestedKeys: what the conflict dialog asks about', () => {
  const base = { name: 'ООО «Альфа»', phone: '+7 495 111 22 33', notes: 'старое' };
  it('lists only the fields someone else changed too, to another value', () => {
    // I changed the name and the notes; they changed the phone and the notes.
    const mine = { name: 'ООО «Альфа-М»', notes: 'моё' };
    const current = { name: 'ООО «Альфа»', phone: '+7 495 999 88 77', notes: 'их' };
    expect(contestedKeys(mine, base, current)).toEqual(['notes']);
  });
  it('lists nothing when they changed other fields only, or the same field to the same value', () => {
    expect(contestedKeys({ name: 'ООО «Альфа-М»' }, base, { ...base, phone: '+7 495 999 88 77' })).toEqual([]);
    expect(contestedKeys({ notes: 'одинаково' }, base, { ...base, notes: 'одинаково' })).toEqual([]);
  });
  it('an emptied field counts as a change on either side', () => {
    expect(contestedKeys({ notes: null }, base, { name: base.name, phone: base.phone, notes: 'их' })).toEqual(['notes']);
    expect(contestedKeys({ notes: 'моё' }, base, { name: base.name, phone: base.phone })).toEqual(['notes']);
  });
});
