import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validateCardValues, type CardTypeDefinition } from '../../../card-types';
import { validateCardTypeDefinition } from '../../../card-types/definitions';
import { builtInCardTypes } from '../../../card-types/built-in';
import { loadPlugins, runBeforeValidate, shippedPluginNames, type CardHookContext } from '../../../plugins/index';
import { innProblem, kppProblem, ogrnProblem } from '../../../plugins/russian-requisites/checksums';
import { innKind, kppKind } from '../../../plugins/russian-requisites/kinds';
import { supplierType as supplier } from '../../support/supplier-type';
import { check, label } from './fixtures';

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
    for (const kpp of ['77360100', '77360100X', '7736010011']) expect(kppProblem(kpp), kpp).to.equal('format');
  });
});

describe('Russian requisites: field kinds ИНН, КПП, ОГРН for any card type', () => {
  it('lets an administrator define a type with them under any keys', () => {
    expect(validateCardTypeDefinition(supplier, { knownTypes: [supplier] })).to.deep.include({ ok: true });
  });

  it('stores valid numbers as digits, whatever spaces and dashes were typed, KPP letters in capitals', () => {
    expect(check({ key: 'inn', kind: 'inn', label }, ' 7707 083-893 ')).to.deep.equal({ value: '7707083893' });
    expect(check({ key: 'kpp', kind: 'kpp', label }, '7736ab001')).to.deep.equal({ value: '7736AB001' });
    expect(check({ key: 'ogrn', kind: 'ogrn', label }, '304500116000157')).to.deep.equal({ value: '304500116000157' });
  });

  it('puts back the leading zeros a spreadsheet’s number cell lost (an INN of region 01–09 …)', () => {
    const field = { key: 'inn', kind: 'inn', label };
    expect(innKind.fromCell(105016563, field)).to.equal('0105016563');
    expect(kppKind.fromCell(10501001, { ...field, kind: 'kpp' })).to.equal('010501001');
    expect(innKind.fromCell('7707083893', field)).to.equal('7707083893');
  });

  it('explains a wrong INN, KPP and OGRN at its field, in Russian and in English', () => {
    const wrong = { title: 'ООО «Ромашка»', taxNumber: '7707083894', branch: '7736-0100', registration: '1027700132196' };
    expect(validateCardValues(supplier, wrong, { locale: 'ru' }).errors).to.deep.equal({
      taxNumber: 'Неверная контрольная сумма ИНН',
      branch: 'КПП — 9 символов: 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры',
      registration: 'Неверная контрольная сумма ОГРН',
    });
    expect(validateCardValues(supplier, { title: 'x', taxNumber: '12345', registration: '304500116000158' }, { locale: 'en' }).errors).to.deep.equal({
      taxNumber: 'An INN has 10 or 12 digits',
      registration: 'Wrong OGRNIP check digit',
    });
  });

  it('are what the built-in «Контрагент» uses for its requisites', () => {
    const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty');
    expect(counterparty?.fields.filter((field) => ['inn', 'kpp', 'ogrn'].includes(field.kind)).map((field) => `${field.key}:${field.kind}`)).to.deep.equal([
      'inn:inn',
      'kpp:kpp',
      'ogrn:ogrn',
    ]);
  });
});

describe('Russian requisites: the plugin, from configuration', () => {
  const context = (cardType: CardTypeDefinition, values: Record<string, unknown>, locale: 'ru' | 'en' = 'ru'): CardHookContext => ({ cardType, values, action: 'create', locale });

  it('is loaded by name, and contributes the three kinds', async () => {
    expect(shippedPluginNames()).to.include('russian-requisites');
    const [plugin, ...others] = await loadPlugins(['russian-requisites']);
    expect(others).to.deep.equal([]);
    expect(plugin?.name).to.equal('russian-requisites');
    expect(plugin?.fieldKinds?.map((kind) => kind.key)).to.deep.equal(['inn', 'kpp', 'ogrn']);
    expect(await loadPlugins([])).to.deep.equal([]);
  });

  it('checks that INN, KPP and OGRN of one card belong to the same kind of taxpayer, whatever the fields are called', async () => {
    const plugins = await loadPlugins(['russian-requisites']);
    expect(await runBeforeValidate(plugins, context(supplier, { taxNumber: '500100732259', branch: '773601001', registration: '1027700132195' }))).to.deep.equal({
      branch: 'КПП бывает только у организаций (ИНН из 10 цифр)',
      registration: 'ИНН из 12 цифр — у предпринимателя: укажите ОГРНИП (15 цифр)',
    });
    expect(await runBeforeValidate(plugins, context(supplier, { taxNumber: '7707083893', registration: '304500116000157' }, 'en'))).to.deep.equal({
      registration: 'A 10-digit INN belongs to an organisation: enter the OGRN (13 digits)',
    });
    expect(await runBeforeValidate(plugins, context(supplier, { taxNumber: '500100732259', registration: '304500116000157' }))).to.deep.equal({});
  });

  it('does not pair numbers when a type has two INN fields (which OGRN goes with which is unclear)', async () => {
    const deal: CardTypeDefinition = { ...supplier, key: 'deal', fields: [...supplier.fields, { key: 'buyerInn', kind: 'inn', label }] };
    const plugins = await loadPlugins(['russian-requisites']);
    expect(await runBeforeValidate(plugins, context(deal, { taxNumber: '500100732259', registration: '1027700132195' }))).to.deep.equal({});
  });

  it('refuses a name that is no plugin, saying which ones ship', async () => {
    const error = await loadPlugins(['telepathy']).catch((e: unknown) => e as Error);
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message)
      .to.include('PLUGINS: cannot load "telepathy"')
      .and.include('shipped plugins: russian-requisites');
  });

  describe('a plugin of ones own, named by its path', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-plugin-'));
      await writeFile(
        path.join(dir, 'strict.mjs'),
        "export default { name: 'strict', hooks: { beforeValidate: ({ values }) => (values.title === 'x' ? { title: 'Название занято', taxNumber: 'second opinion' } : undefined) } };\n",
      );
      await writeFile(path.join(dir, 'stray.mjs'), 'export const name = "stray";\n');
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('runs after the shipped one; the first message for a field wins', async () => {
      const plugins = await loadPlugins(['russian-requisites', path.join(dir, 'strict.mjs')]);
      expect(plugins.map((plugin) => plugin.name)).to.deep.equal(['russian-requisites', 'strict']);
      expect(await runBeforeValidate(plugins, context(supplier, { title: 'x', taxNumber: '500100732259', branch: '773601001' }))).to.deep.equal({
        branch: 'КПП бывает только у организаций (ИНН из 10 цифр)',
        title: 'Название занято',
        taxNumber: 'second opinion',
      });
    });

    it('refuses a module that exports no plugin, and a plugin listed twice', async () => {
      const stray = await loadPlugins([path.join(dir, 'stray.mjs')]).catch((e: unknown) => e as Error);
      expect((stray as Error).message).to.match(/PLUGINS: ".*stray\.mjs" is not a Kartoteka plugin/);
      const twice = await loadPlugins(['russian-requisites', 'russian-requisites']).catch((e: unknown) => e as Error);
      expect((twice as Error).message).to.equal('PLUGINS: the plugin "russian-requisites" is listed twice');
    });
  });
});
