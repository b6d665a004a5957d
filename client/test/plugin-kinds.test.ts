import { describe, expect, it } from 'vitest';
import { findFieldKind, validateCardValues } from '../../card-types';
import { supplierType as supplier } from '../../test/support/supplier-type';
import { registerServerKinds } from '../src/field-kinds/plugins';

describe("plugins' field kinds in the browser", () => {
  it('registers only the kinds the server lists, so the form checks an INN before the round trip with the server’s message', () => {
    expect(findFieldKind('inn')).toBeUndefined();
    registerServerKinds(['string', 'inn']);
    expect(findFieldKind('inn')?.labels.ru).toBe('ИНН');
    expect(findFieldKind('kpp')).toBeUndefined();
    expect(validateCardValues(supplier, { title: 'ООО «Ромашка»', taxNumber: '7707083894' }, { locale: 'ru' }).errors).toEqual({ taxNumber: 'Неверная контрольная сумма ИНН' });
    expect(validateCardValues(supplier, { title: 'ПАО Сбербанк', taxNumber: '7707 083 893' }, { locale: 'ru' }).values).toMatchObject({ taxNumber: '7707083893' });
  });
});
