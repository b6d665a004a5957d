import Big from 'big.js';

/** Exact decimals for `decimal` and `money` fields: parsed and compared with big.js, stored as strings. */
export type Decimal = Big.Big;

/** More digits before the point than a sum of money or a measurement needs; keeps values within Decimal128. */
export const maxIntegerDigits = 20;
/** The largest `scale` a field may declare, and the precision of a decimal field without one. */
export const maxScale = 10;

/**
 * Reads a decimal typed by a person or sent by a client: "1 234,50", "-0.5", "+7", or a JSON number
 * (taken by its shortest round-trip form, so 0.1 is exactly "0.1"). Exponents and thousands commas are refused.
 */
export function parseDecimal(raw: unknown): Decimal | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? new Big(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  const compact = raw
    .replace(/[\s\u00a0\u202f']/g, '')
    .replace(',', '.')
    .replace(/^\+/, '');
  return /^-?(\d+(\.\d*)?|\.\d+)$/.test(compact) ? new Big(compact) : undefined;
}

export function fractionDigits(value: Decimal): number {
  return Math.max(0, value.c.length - value.e - 1);
}

export function integerDigits(value: Decimal): number {
  return Math.max(1, value.e + 1);
}

/** "1234.50" with a scale, "1234.5" without one; never "-0". */
export function canonicalDecimal(value: Decimal, scale: number | undefined): string {
  const text = scale === undefined ? value.toFixed() : value.toFixed(scale);
  return value.eq(0) ? text.replace(/^-/, '') : text;
}

/** A canonical decimal string → «1 234 567,50» (ru, no-break spaces) or 1,234,567.50 (en). */
export function formatDecimal(canonical: string, locale: 'ru' | 'en'): string {
  const [whole = '', fraction] = canonical.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, locale === 'ru' ? '\u00a0' : ',');
  if (fraction === undefined) return grouped;
  return `${grouped}${locale === 'ru' ? ',' : '.'}${fraction}`;
}
