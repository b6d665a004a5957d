import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { asIs } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';
import { parseInteger } from './integer';

const stars = 5;
const isRating = (value: number | undefined): value is number => value !== undefined && value >= 1 && value <= stars;

/** A whole number of stars, 1–5 ("4", 4), or undefined. */
function parseRating(raw: unknown): number | undefined {
  const value = parseInteger(raw);
  return isRating(value) ? value : undefined;
}

/** «Оценка»: 1 to 5 stars; lists filter by «not less than»; whole numbers 1–5 convert to it. */
export default defineFieldKind({
  key: 'rating',
  labels: { ru: 'Оценка (1–5)', en: 'Rating (1–5)' },
  order: 85,
  // A default is checked like a card's value ("4" or 4; 6 is «Оценка — от 1 до 5») and kept as the number.
  settingsSchema: (z) => ({
    default: z.optional(
      z.pipe(
        z.union([z.int(), z.string()]),
        z.transform((value) => parseRating(value) ?? value),
      ),
    ),
  }),
  parse(raw) {
    const value = parseRating(raw);
    return value === undefined ? fail(messages.notRating) : ok(value);
  },
  stored: 'number',
  reads: (item) => typeof item === 'number' && Number.isInteger(item) && isRating(item),
  format: (value) => '★'.repeat(Number(value)) + '☆'.repeat(stars - Number(value)),
  // «★★★★☆» as a file may hold it (what format writes) counts its filled stars.
  fromCell: (cell) => (typeof cell === 'string' && /^[★☆]+$/.test(cell.trim()) ? cell.split('★').length - 1 : cell),
  toCell: (value) => ({ value: Number(value) }),
  filter: { operators: ['range', 'equals', 'in'], bound: parseRating },
  conversions: { from: { integer: asIs } },
  sample: () => 4,
});
