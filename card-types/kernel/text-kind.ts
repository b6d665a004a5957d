/** `string` (one line) and `text` (several lines): trimmed text, length limits and a pattern. */
import { defineFieldKind, fail, ok, type FieldKind } from './field-kind';
import { cleanText, limitProblems, wordsAndNumbers } from './kind-parts';
import type { LocalizedText } from './locale';
import { messages } from './messages';

/**
 * The longest value an administrator's pattern runs on. Patterns are checked for catastrophic
 * backtracking when they are defined; this bound keeps what is left (a pattern whose time grows with
 * the square of the length) to about a million steps per value.
 */
export const PATTERN_INPUT_MAX = 1000;

const patterns = new Map<string, RegExp>();
/** A pattern matches the whole value (implicitly anchored, like HTML `pattern`). */
function compiledPattern(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) patterns.set(source, (pattern = new RegExp(`^(?:${source})$`, 'u')));
  return pattern;
}

export function textKind({
  key,
  labels,
  order,
  multiline,
  maxLength,
  unique,
}: {
  key: string;
  labels: LocalizedText;
  order: number;
  multiline: boolean;
  maxLength: number;
  unique: boolean;
}): FieldKind {
  return defineFieldKind({
    key,
    labels,
    order,
    settingsSchema: (z) => ({
      default: z.optional(z.string()),
      min: z.optional(z.length),
      max: z.optional(z.length),
      /** A JavaScript regular expression the whole value must match. */
      pattern: z.optional(z.regExp),
      /** Shown when the pattern does not match; «Неверный формат» otherwise. */
      patternMessage: z.optional(z.localized),
    }),
    settingLabels: { min: { ru: 'Не короче (символов)', en: 'At least (characters)' }, max: { ru: 'Не длиннее (символов)', en: 'At most (characters)' } },
    parse(raw, field) {
      const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
      if (typeof text !== 'string') return fail(messages.notText);
      const value = cleanText(text, multiline);
      const max = field.max ?? maxLength;
      if (value.length > max) return fail(messages.tooLong(max));
      if (field.min !== undefined && value.length < field.min) return fail(messages.tooShort(field.min));
      if (field.pattern !== undefined) {
        if (value.length > PATTERN_INPUT_MAX) return fail(messages.patternInputTooLong(PATTERN_INPUT_MAX));
        if (!compiledPattern(field.pattern).test(value)) return fail(field.patternMessage ?? messages.invalidFormat);
      }
      return ok(value);
    },
    normalizeForSearch: wordsAndNumbers,
    filter: { operators: ['contains', 'equals', 'in'] },
    index: { unique },
    // Any value a person can read can become text.
    conversions: { from: { '*': (_value, { formatted }) => ({ input: formatted() }) } },
    settingsProblems: (field) => limitProblems(field.min, field.max, (min, max) => min > max),
    sample: (field, locale) => field.label[locale],
  });
}
