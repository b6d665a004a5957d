import { describe, expect, it } from 'vitest';
import type { FieldDef } from '../src/workspace/api';
import { changedValues, displayValue, filledValues, fromFormValue, initialForm, isEmptyValue, toFormValue, type DisplayContext } from '../src/workspace/values';

const field = (key: string, kind: FieldDef['kind'], extra: Partial<FieldDef> = {}): FieldDef => ({ key, kind, label: { ru: key, en: key }, ...extra });

const name = field('name', 'string');
const amount = field('amount', 'money');
const count = field('count', 'integer');
const signed = field('signed', 'date');
const active = field('active', 'boolean');
const tags = field('tags', 'tags');
const owner = field('owner', 'reference', { targets: ['counterparty'] });
const stage = field('stage', 'enum', { options: [{ value: 'draft', label: { ru: 'Черновик', en: 'Draft' } }, { value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } }] });

const ru: DisplayContext = { locale: 'ru', userName: () => undefined, referenceTitle: () => undefined, noAccess: 'нет доступа', yes: 'да', no: 'нет' };

describe('card values between the API and the form', () => {
  it('sends what the user typed in the API’s form: exact decimals as text, whole numbers as numbers', () => {
    expect(fromFormValue(amount, ' 1 234 567,50 ')).toBe('1234567.50');
    expect(fromFormValue(count, '42')).toBe(42);
    expect(fromFormValue(count, '4.2'), 'not a whole number: left for the server to refuse at the field').toBe('4.2');
    expect(fromFormValue(name, '   ')).toBeNull();
    expect(fromFormValue(owner, ['65a1b2c3d4e5f6a7b8c9d0e1'])).toBe('65a1b2c3d4e5f6a7b8c9d0e1');
    expect(fromFormValue(tags, [])).toBeNull();
  });

  it('fills the form from stored values: lists for multi-valued kinds, a flag for yes/no', () => {
    expect(toFormValue(tags, ['опт', 'VIP'])).toEqual(['опт', 'VIP']);
    expect(toFormValue(owner, '65a1b2c3d4e5f6a7b8c9d0e1')).toEqual(['65a1b2c3d4e5f6a7b8c9d0e1']);
    expect(toFormValue(active, true)).toBe(true);
    expect(toFormValue(count, null)).toBe('');
  });

  it('sends only the fields that changed, and null for a field the user cleared', () => {
    const stored = { name: 'ООО «Ромашка»', amount: '100.00', tags: ['опт'] };
    const form = { ...initialForm([name, amount, tags], stored), name: 'ООО «Ромашка-2»', tags: [] as string[] };
    expect(changedValues([name, amount, tags], stored, form)).toEqual({ name: 'ООО «Ромашка-2»', tags: null });
  });

  it('creates a card with the filled fields only, and with the defaults of a new card', () => {
    const form = initialForm([name, signed, active, field('city', 'string', { default: 'Москва' })], null);
    expect(form.signed).toBe('');
    expect(filledValues([name, signed, active, field('city', 'string')], { ...form, name: 'ООО «Лютик»' })).toEqual({ name: 'ООО «Лютик»', city: 'Москва' });
    const today = new Date();
    const todayIso = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    expect(initialForm([field('signed', 'date', { default: 'today' })], null).signed).toBe(todayIso);
  });

  it('treats blank text and empty lists as empty', () => {
    expect([null, undefined, '  ', [], ''].every(isEmptyValue)).toBe(true);
    expect([0, false, 'x', ['x']].some(isEmptyValue)).toBe(false);
  });
});

describe('card values as text', () => {
  it('groups money by thousands with the decimal separator of the language, without rounding', () => {
    expect(displayValue(amount, '1234567.505', ru)).toBe('1\u00a0234\u00a0567,505');
    expect(displayValue(amount, '1234567.505', { ...ru, locale: 'en' })).toBe('1\u00a0234\u00a0567.505');
  });

  it('shows dates as day.month.year, choices by their label, yes/no in words', () => {
    expect(displayValue(signed, '2026-03-08', ru)).toBe('08.03.2026');
    expect(displayValue(stage, 'sent', ru)).toBe('Отправлено');
    expect(displayValue(stage, 'sent', { ...ru, locale: 'en' })).toBe('Sent');
    expect(displayValue(active, false, ru)).toBe('нет');
  });

  it('names a referenced card the viewer may not see «нет доступа», and one not loaded yet «…»', () => {
    const titles: Record<string, string | null> = { a: 'ООО «Ромашка»', b: null };
    const ctx = { ...ru, referenceTitle: (id: string) => titles[id] };
    expect(displayValue(owner, ['a', 'b', 'c'], ctx)).toBe('ООО «Ромашка», нет доступа, …');
  });
});
