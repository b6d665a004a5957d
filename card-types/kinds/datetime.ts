import { cellDateTime, formatDateTime, parseDateTime } from '../kernel/dates';
import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { fromText, limitProblems } from '../kernel/kind-parts';
import { inBoth, messages } from '../kernel/messages';

/** «Дата и время», stored as an ISO 8601 UTC instant; `default: 'now'` fills in the creation time. */
export default defineFieldKind({
  key: 'datetime',
  labels: { ru: 'Дата и время', en: 'Date and time' },
  order: 70,
  settingsSchema: (z) => ({ default: z.optional(z.string()), min: z.optional(z.dateTimeText), max: z.optional(z.dateTimeText) }),
  settingHints: {
    min: { ru: 'С часовым поясом: 2025-01-31T09:00:00Z', en: 'With a time zone: 2025-01-31T09:00:00Z' },
    max: { ru: 'С часовым поясом: 2025-01-31T09:00:00Z', en: 'With a time zone: 2025-01-31T09:00:00Z' },
    default: { ru: 'Дата и время с часовым поясом или now — время создания', en: 'A date and time with a time zone, or now: the creation time' },
  },
  parse(raw, field) {
    const instant = parseDateTime(raw);
    const [min, max] = [parseDateTime(field.min), parseDateTime(field.max)];
    if (instant === undefined) return fail(messages.notDateTime);
    if (min !== undefined && instant < min) return fail(messages.beforeMin(inBoth((locale) => formatDateTime(min, locale))));
    if (max !== undefined && instant > max) return fail(messages.afterMax(inBoth((locale) => formatDateTime(max, locale))));
    return ok(instant);
  },
  reads: (item) => parseDateTime(item) !== undefined,
  format: (value, _field, { locale, timeZone }) => formatDateTime(String(value), locale, timeZone),
  fromCell: (cell) => cellDateTime(cell) ?? cell,
  toCell: (value) => ({ value: new Date(String(value)), numberFormat: 'dd.mm.yyyy hh:mm' }),
  filter: { operators: ['range', 'equals', 'in'], bound: parseDateTime },
  index: { unique: true },
  conversions: { from: { ...fromText, date: (value) => ({ input: `${String(value)}T00:00:00.000Z` }) } },
  settingsProblems: (field) => limitProblems(parseDateTime(field.min), parseDateTime(field.max), (min, max) => min > max),
  defaultInput: (field, now) => (field.default === 'now' ? now.toISOString() : field.default),
  sample: () => new Date().toISOString(),
});
