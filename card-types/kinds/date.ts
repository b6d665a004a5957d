import { cellDate, dateCell, formatDate, isoDateIn, parseDate, writtenAsDate } from '../kernel/dates';
import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { fromText, limitProblems } from '../kernel/kind-parts';
import { inBoth, messages } from '../kernel/messages';

/** «Дата», stored as 'YYYY-MM-DD'; `default: 'today'` fills in the creation date. */
export default defineFieldKind({
  key: 'date',
  labels: { ru: 'Дата', en: 'Date' },
  order: 60,
  settingsSchema: (z) => ({ default: z.optional(z.string()), min: z.optional(z.dateText), max: z.optional(z.dateText) }),
  settingHints: {
    min: { ru: 'ГГГГ-ММ-ДД', en: 'YYYY-MM-DD' },
    max: { ru: 'ГГГГ-ММ-ДД', en: 'YYYY-MM-DD' },
    default: { ru: 'ГГГГ-ММ-ДД или today — дата создания', en: 'YYYY-MM-DD, or today: the creation date' },
  },
  parse(raw, field) {
    const date = parseDate(raw);
    const { min, max } = field;
    // «31.02.2023» is in the format asked for: what is wrong is the day.
    if (date === undefined) return fail(writtenAsDate(raw) ? messages.noSuchDate(String(raw).trim()) : messages.notDate);
    if (min !== undefined && date < min) return fail(messages.beforeMin(inBoth((locale) => formatDate(min, locale))));
    if (max !== undefined && date > max) return fail(messages.afterMax(inBoth((locale) => formatDate(max, locale))));
    return ok(date);
  },
  reads: (item) => parseDate(item) === item,
  format: (value, _field, { locale }) => formatDate(String(value), locale),
  // Excel keeps dates as day numbers (shown as dates by a cell format, or not): both are dates here.
  fromCell: (cell) => cellDate(cell) ?? cell,
  toCell: (value) => ({ value: dateCell(String(value)), numberFormat: 'dd.mm.yyyy' }),
  filter: { operators: ['range', 'equals', 'in'], bound: parseDate },
  index: { unique: true },
  conversions: {
    from: {
      ...fromText,
      datetime: (value) => {
        const instant = String(value);
        return instant.endsWith('T00:00:00.000Z') ? { input: instant.slice(0, 10) } : { reason: messages.timeWouldBeLost };
      },
    },
  },
  settingsProblems: (field) => limitProblems(field.min, field.max, (min, max) => min > max),
  defaultInput: (field, now, timeZone) => (field.default === 'today' ? isoDateIn(now, timeZone) : field.default),
  sample: () => new Date().toISOString().slice(0, 10),
});
