import { expect } from 'chai';
import { loadPlugins, runBeforeValidate, type CardHookContext, type Plugin } from '../../../plugins/index';
import { innProblem, kppProblem, ogrnProblem } from '../../../plugins/russian-requisites/checksums';
import { builtInCardTypes } from '../../../card-types/built-in';
import { label, typeWith } from './fixtures';

/** Every number that differs from `valid` in exactly one digit. */
function oneDigitChanges(valid: string): string[] {
  return [...valid].flatMap((digit, index) =>
    Array.from({ length: 10 }, (_, other) => String(other))
      .filter((other) => other !== digit)
      .map((other) => valid.slice(0, index) + other + valid.slice(index + 1)),
  );
}

describe('Russian requisites: checksums', () => {
  it('accepts real INNs: Sberbank, Gazprom (10 digits) and a sole trader (12 digits)', () => {
    for (const inn of ['7707083893', '7736050003', '500100732259']) expect(innProblem(inn), inn).to.equal(undefined);
  });

  it('rejects every one-digit change of a valid INN', () => {
    for (const valid of ['7707083893', '500100732259']) {
      for (const changed of oneDigitChanges(valid)) expect(innProblem(changed), changed).to.equal('checksum');
    }
  });

  it('rejects INNs of the wrong length or with other characters', () => {
    for (const inn of ['770708389', '77070838931', '7707O83893', '']) expect(innProblem(inn), inn).to.equal('format');
  });

  it('accepts real OGRNs (Sberbank, Gazprom) and an OGRNIP, and rejects every one-digit change', () => {
    for (const valid of ['1027700132195', '1027700070518', '304500116000157']) {
      expect(ogrnProblem(valid), valid).to.equal(undefined);
      for (const changed of oneDigitChanges(valid)) expect(ogrnProblem(changed), changed).to.equal('checksum');
    }
    expect(ogrnProblem('10277001321')).to.equal('format');
  });

  it('checks the format of KPP: 4 digits, 2 digits or capital letters, 3 digits', () => {
    for (const kpp of ['773601001', '7736AB001']) expect(kppProblem(kpp), kpp).to.equal(undefined);
    for (const kpp of ['77360100', '7736ab001', '77360100X', '7736010011']) expect(kppProblem(kpp), kpp).to.equal('format');
  });
});

describe('Russian requisites: the plugin', () => {
  const [counterparty] = builtInCardTypes;
  if (!counterparty) throw new Error('built-in types missing');
  const plugins = loadPlugins();
  const context = (values: Record<string, unknown>, locale: 'ru' | 'en' = 'ru'): CardHookContext => ({
    cardType: counterparty,
    values,
    action: 'create',
    locale,
  });

  it('is enabled by default and can be named', () => {
    expect(plugins.map((plugin) => plugin.name)).to.deep.equal(['russian-requisites']);
    expect(loadPlugins([])).to.deep.equal([]);
    expect(() => loadPlugins(['telepathy'])).to.throw('Unknown plugin(s): telepathy; available: russian-requisites');
  });

  it('passes a counterparty with valid requisites and one without any', async () => {
    expect(await runBeforeValidate(plugins, context({ name: 'ПАО Сбербанк', inn: '7707083893', kpp: '773601001', ogrn: '1027700132195' }))).to.deep.equal({});
    expect(await runBeforeValidate(plugins, context({ name: 'Кассиопея', inn: '', kpp: null }))).to.deep.equal({});
  });

  it('explains wrong INN, KPP and OGRN in Russian', async () => {
    expect(await runBeforeValidate(plugins, context({ inn: '7707083894', kpp: '7736-0100', ogrn: '1027700132196' }))).to.deep.equal({
      inn: 'Неверная контрольная сумма ИНН',
      kpp: 'КПП — 9 символов: 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры',
      ogrn: 'Неверная контрольная сумма ОГРН',
    });
    expect(await runBeforeValidate(plugins, context({ inn: '12345', ogrn: '304500116000158' }))).to.deep.equal({
      inn: 'ИНН должен содержать 10 или 12 цифр',
      ogrn: 'Неверная контрольная сумма ОГРНИП',
    });
  });

  it('explains them in English too', async () => {
    expect(await runBeforeValidate(plugins, context({ inn: '7707083894', ogrn: '123' }, 'en'))).to.deep.equal({
      inn: 'Wrong INN check digits',
      ogrn: 'An OGRN has 13 digits, an OGRNIP 15',
    });
  });

  it('checks that INN, KPP and OGRN belong to the same kind of taxpayer', async () => {
    expect(await runBeforeValidate(plugins, context({ inn: '500100732259', kpp: '773601001', ogrn: '1027700132195' }))).to.deep.equal({
      kpp: 'КПП бывает только у организаций (ИНН из 10 цифр)',
      ogrn: 'ИНН из 12 цифр — у предпринимателя: укажите ОГРНИП (15 цифр)',
    });
    expect(await runBeforeValidate(plugins, context({ inn: '7707083893', ogrn: '304500116000157' }))).to.deep.equal({
      ogrn: 'ИНН из 10 цифр — у организации: укажите ОГРН (13 цифр)',
    });
    expect(await runBeforeValidate(plugins, context({ inn: '500100732259', ogrn: '304500116000157' }))).to.deep.equal({});
  });

  it('leaves other card types and hidden fields alone', async () => {
    const other = typeWith({ key: 'inn', kind: 'string', label });
    expect(await runBeforeValidate(plugins, { ...context({ inn: '1' }), cardType: other })).to.deep.equal({});
    const hidden = { ...counterparty, fields: counterparty.fields.map((field) => (field.key === 'inn' ? { ...field, hidden: true } : field)) };
    expect(await runBeforeValidate(plugins, { ...context({ inn: '1' }), cardType: hidden })).to.deep.equal({});
  });

  it('collects errors of several plugins, the first message for a field winning', async () => {
    const strict: Plugin = {
      name: 'strict',
      fieldValidators: [{ cardType: 'counterparty', field: 'inn', validate: () => 'second opinion' }],
      hooks: { beforeValidate: async () => ({ name: 'Название занято' }) },
    };
    expect(await runBeforeValidate([...plugins, strict], context({ inn: '7707083894', name: 'x' }))).to.deep.equal({
      inn: 'Неверная контрольная сумма ИНН',
      name: 'Название занято',
    });
  });
});
