/** `decimal` and `money`: exact decimals, stored as canonical strings ("1234.50"), with limits and a scale. */
import Big from 'big.js';
import { canonicalDecimal, formatDecimal, fractionDigits, integerDigits, maxIntegerDigits, maxScale, parseDecimal } from './decimal';
import { defineFieldKind, fail, ok, type FieldKind } from './field-kind';
import { asIs, fromText, limitProblems } from './kind-parts';
import type { LocalizedText } from './locale';
import { messages, say } from './messages';

/** Significant digits Excel keeps and shows of a number (it writes up to 17 to the file). */
const EXCEL_DIGITS = 15;

/** `defaultScale`: digits after the point when a field sets no `scale` (money 2; a decimal keeps up to 10 and drops trailing zeros). */
export function decimalKind({ key, labels, order, defaultScale, sample }: { key: string; labels: LocalizedText; order: number; defaultScale?: number; sample: string }): FieldKind {
  const canonical = (text: string | undefined, scale: number | undefined) => {
    const decimal = parseDecimal(text);
    return decimal ? canonicalDecimal(decimal, scale) : undefined;
  };
  return defineFieldKind({
    key,
    labels,
    order,
    settingsSchema: (z) => ({
      default: z.optional(z.string()),
      min: z.optional(z.decimalText),
      max: z.optional(z.decimalText),
      scale: z.optional(z.int().check(z.minimum(0, say(messages.badScale)), z.maximum(maxScale, say(messages.badScale)))),
    }),
    parse(raw, field) {
      const scale = field.scale ?? defaultScale;
      const decimal = parseDecimal(raw);
      if (!decimal) return fail(messages.notNumber);
      if (integerDigits(decimal) > maxIntegerDigits) return fail(messages.numberTooLarge);
      const places = scale ?? maxScale;
      if (fractionDigits(decimal) > places) return fail(places === 0 ? messages.notInteger : messages.tooManyDecimals(places));
      const shown = (limit: string) => ({ ru: formatDecimal(canonical(limit, scale) ?? limit, 'ru'), en: formatDecimal(canonical(limit, scale) ?? limit, 'en') });
      if (field.min !== undefined && decimal.lt(new Big(field.min))) return fail(messages.belowMin(shown(field.min)));
      if (field.max !== undefined && decimal.gt(new Big(field.max))) return fail(messages.aboveMax(shown(field.max)));
      return ok(canonicalDecimal(decimal, scale));
    },
    reads: (item) => parseDecimal(item) !== undefined,
    format: (value, _field, { locale }) => formatDecimal(String(value), locale),
    // Sums in files often carry their currency: «1 234,50 ₽», «1234.5 руб.». A number cell is taken as
    // Excel shows it, to its 15 significant digits: a formula's result is stored as the nearest double
    // (1475.1399999999999 for «1 475,14 ₽»), whose 17 digits were refused as too many decimals (s16 user U1).
    fromCell: (cell) => (typeof cell === 'string' ? cell.replace(/\s*(₽|руб\.?|р\.|rub|\$|€)\s*/gi, '') : typeof cell === 'number' ? Number(cell.toPrecision(EXCEL_DIGITS)) : cell),
    toCell: (value, field) => {
      const places = field.scale ?? defaultScale ?? fractionDigits(new Big(String(value)));
      return { value: Number(value), numberFormat: places > 0 ? `#,##0.${'0'.repeat(places)}` : '#,##0' };
    },
    filter: { operators: ['range', 'equals', 'in'], decimal: true, bound: (text, field) => canonical(text, field.scale ?? defaultScale) },
    index: { unique: true },
    conversions: { from: { ...fromText, integer: asIs, decimal: asIs, money: asIs } },
    settingsProblems: (field) => limitProblems(parseDecimal(field.min), parseDecimal(field.max), (min, max) => min.gt(max)),
    sample: () => sample,
  });
}
