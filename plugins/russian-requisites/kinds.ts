/**
 * ИНН, КПП and ОГРН/ОГРНИП as field kinds: any card type — a built-in one or an administrator's own —
 * gets their format and checksum checks by giving a field one of these kinds. The same functions
 * check a value in the browser's form and on the server.
 */
import { defineFieldKind, fail, messages, ok, type Carry, type FieldKind, type LocalizedText } from '../api';
import { innProblem, kppProblem, ogrnProblem, type RequisiteProblem } from './checksums';
import { text } from './messages';

/** What people type around the digits (spaces, dashes) is dropped; a whole number is taken as its digits. */
function compact(raw: unknown): string | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : undefined;
  return typeof raw === 'string' ? raw.replace(/[\s-]/g, '') : undefined;
}

function messageFor(problem: RequisiteProblem | undefined, format: LocalizedText, checksum: LocalizedText): LocalizedText | undefined {
  if (problem === 'format') return format;
  return problem === 'checksum' ? checksum : undefined;
}

/** A text field's values become requisites when they pass the checks (those that do not are reported by the dry run). */
const asIs: Carry = (value) => ({ input: value });

function requisiteKind(spec: {
  key: string;
  labels: LocalizedText;
  order: number;
  /** The lengths a number has: a spreadsheet's number cell lost its leading zeros, which are put back. */
  lengths: readonly number[];
  check: (value: string) => LocalizedText | undefined;
  sample: string;
}): FieldKind {
  return defineFieldKind({
    key: spec.key,
    labels: spec.labels,
    order: spec.order,
    settingsSchema: () => ({}),
    parse(raw) {
      const value = compact(raw)?.toUpperCase();
      if (value === undefined) return fail(messages.notText);
      const problem = spec.check(value);
      return problem ? fail(problem) : ok(value);
    },
    fromCell: (cell) => {
      if (typeof cell !== 'number' || !Number.isSafeInteger(cell) || cell < 0) return cell;
      const digits = String(cell);
      return digits.padStart(spec.lengths.find((length) => length >= digits.length) ?? digits.length, '0');
    },
    normalizeForSearch: (value) => ({ text: [String(value)], keys: [String(value)] }),
    // Looked for as stored: digits without the spaces and dashes the form shows or people type.
    filter: { operators: ['equals', 'contains', 'in'], contains: (typed) => compact(typed)?.toUpperCase() ?? typed },
    index: { unique: true },
    conversions: { from: { string: asIs, text: asIs } },
    sample: () => spec.sample,
  });
}

export const innKind = requisiteKind({
  key: 'inn',
  labels: { ru: 'ИНН', en: 'INN (taxpayer number)' },
  order: 200,
  lengths: [10, 12],
  check: (inn) => messageFor(innProblem(inn), text.innFormat, text.innChecksum),
  sample: '7707083893',
});

export const kppKind = requisiteKind({
  key: 'kpp',
  labels: { ru: 'КПП', en: 'KPP (registration reason code)' },
  order: 201,
  lengths: [9],
  check: (kpp) => (kppProblem(kpp) ? text.kppFormat : undefined),
  sample: '773601001',
});

export const ogrnKind = requisiteKind({
  key: 'ogrn',
  labels: { ru: 'ОГРН / ОГРНИП', en: 'OGRN / OGRNIP (registration number)' },
  order: 202,
  lengths: [13, 15],
  check: (ogrn) => messageFor(ogrnProblem(ogrn), text.ogrnFormat, ogrn.length === 15 ? text.ogrnipChecksum : text.ogrnChecksum),
  sample: '1027700132195',
});

/** The plugin's field kinds; the client registers them when the server has the plugin enabled. */
export default [innKind, kppKind, ogrnKind];
