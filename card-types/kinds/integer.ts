import { fractionDigits, formatDecimal, parseDecimal } from '../kernel/decimal';
import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { asIs, fromText, limitProblems } from '../kernel/kind-parts';
import { inBoth, messages } from '../kernel/messages';

/** A safe integer from a number or typed text ("1 234"); undefined otherwise. */
export function parseInteger(raw: unknown): number | undefined {
  const decimal = parseDecimal(raw);
  if (!decimal || fractionDigits(decimal) > 0) return undefined;
  return Number(decimal.toFixed());
}

/** «Целое число», stored as a number. */
export default defineFieldKind({
  key: 'integer',
  labels: { ru: 'Целое число', en: 'Whole number' },
  order: 30,
  settingsSchema: (z) => ({ default: z.optional(z.number()), min: z.optional(z.int()), max: z.optional(z.int()) }),
  parse(raw, field) {
    const value = parseInteger(raw);
    if (value === undefined) return fail(messages.notInteger);
    if (!Number.isSafeInteger(value)) return fail(messages.numberTooLarge);
    const { min, max } = field;
    if (min !== undefined && value < min) return fail(messages.belowMin(inBoth((locale) => formatDecimal(String(min), locale))));
    if (max !== undefined && value > max) return fail(messages.aboveMax(inBoth((locale) => formatDecimal(String(max), locale))));
    return ok(value);
  },
  stored: 'number',
  reads: (item) => Number.isSafeInteger(item),
  format: (value, _field, { locale }) => formatDecimal(String(value), locale),
  toCell: (value) => ({ value: Number(value), numberFormat: '#,##0' }),
  filter: {
    operators: ['range', 'equals', 'in'],
    bound: (text) => {
      const value = parseInteger(text);
      return value !== undefined && Number.isSafeInteger(value) ? value : undefined;
    },
  },
  index: { unique: true },
  conversions: { from: { ...fromText, integer: asIs, decimal: asIs, money: asIs } },
  settingsProblems: (field) => limitProblems(field.min, field.max, (min, max) => min > max),
  sample: () => 42,
});
