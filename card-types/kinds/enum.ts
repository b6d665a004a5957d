import type { EnumOption, FieldDefinition } from '../kernel/definition';
import { defineFieldKind, type Carry } from '../kernel/field-kind';
import { parseChoice } from '../kernel/kind-parts';
import { messages, say } from '../kernel/messages';

const optionsOf = (field: FieldDefinition): EnumOption[] => (Array.isArray(field.options) ? (field.options as EnumOption[]) : []);

/** An item typed as an option's value or either of its labels (any case) becomes that option's value. */
function matchOption(options: EnumOption[], item: unknown): unknown {
  if (typeof item !== 'string') return item;
  const wanted = item.trim().toLocaleLowerCase('ru');
  const option = options.find((candidate) => [candidate.value, candidate.label.ru, candidate.label.en].some((text) => text.toLocaleLowerCase('ru') === wanted));
  return option?.value ?? item;
}

const matching: Carry = (value, { to }) => ({ input: Array.isArray(value) ? value.map((item) => matchOption(optionsOf(to), item)) : matchOption(optionsOf(to), value) });

/** «Список значений»: one of the options, or (`multiple`) several of them, in the options' order. */
export default defineFieldKind({
  key: 'enum',
  labels: { ru: 'Список значений', en: 'Choice' },
  order: 90,
  settingsSchema: (z) => ({
    // No options reads «add at least one option» (settingsProblems), whether sent empty or left out.
    options: z.optional(z.array(z.strictObject({ value: z.string().check(z.trim(), z.minLength(1, say(messages.fillIn)), z.maxLength(100)), label: z.localized }))),
    multiple: z.optional(z.boolean()),
    default: z.optional(z.union([z.string(), z.array(z.string())])),
  }),
  parse(raw, field) {
    const rank = new Map(optionsOf(field).map((option, index) => [option.value, index]));
    return parseChoice(raw, {
      multiple: field.multiple === true,
      accept: (item) => (rank.has(item) ? item : undefined),
      invalid: messages.notOption,
      sort: (a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0),
    });
  },
  format: (value, field, { locale }) =>
    [value]
      .flat()
      .map((item) => optionsOf(field).find((option) => option.value === String(item))?.label[locale] ?? String(item))
      .join(', '),
  // A file names options by their labels («Клиент, Партнёр» for several).
  fromCell: (cell, field) => {
    if (typeof cell !== 'string') return cell;
    const options = optionsOf(field);
    const whole = matchOption(options, cell);
    if (field.multiple !== true || whole !== cell) return field.multiple === true ? [whole] : whole;
    return cell
      .split(/[,;\n]/)
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item) => matchOption(options, item));
  },
  normalizeForSearch: (value, field) => ({
    text: [value].flat().map((item) => {
      const option = optionsOf(field).find((candidate) => candidate.value === String(item));
      return option ? `${option.label.ru} ${option.label.en}` : String(item);
    }),
  }),
  filter: { operators: ['in', 'equals'] },
  multiple: (field) => field.multiple === true,
  conversions: { from: { string: matching, text: matching, enum: matching, tags: matching } },
  settingsProblems(field) {
    const options = field.options ?? [];
    if (options.length === 0) return [[['options'], messages.noOptions]];
    return options.flatMap((option, index) =>
      options.findIndex((other) => other.value === option.value) < index ? [[['options', index, 'value'], messages.duplicateOption(option.value)] as const] : [],
    );
  },
  sample: (field) => field.options?.[0]?.value,
});
