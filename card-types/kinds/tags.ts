import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { cleanText, fromText, wordsAndNumbers } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

const maxTagLength = 100;
/** A card's labels: a hundred is far more than a team puts on one card, and keeps its list cell and page small (s15 B2). */
export const MAX_TAGS = 100;

/** «Метки»: free-form labels, a list of unique trimmed strings (case-insensitively), in the given order. */
export default defineFieldKind({
  key: 'tags',
  labels: { ru: 'Метки', en: 'Tags' },
  order: 130,
  settingsSchema: (z) => ({ default: z.optional(z.array(z.string())) }),
  settingHints: { default: { ru: 'Через запятую', en: 'Comma-separated' } },
  parse(raw) {
    const items: unknown[] | undefined = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
    if (!items || !items.every((item) => typeof item === 'string')) return fail(messages.notTags);
    const tags: string[] = [];
    const seen = new Set<string>();
    for (const tag of items.map((item) => cleanText(item as string, false)).filter((item) => item !== '')) {
      if (tag.length > maxTagLength) return fail(messages.tagTooLong(maxTagLength));
      const folded = tag.toLocaleLowerCase('ru');
      if (!seen.has(folded)) tags.push(tag);
      seen.add(folded);
    }
    return ok(tags);
  },
  normalizeForSearch: wordsAndNumbers,
  filter: { operators: ['tags', 'contains', 'in'] },
  multiple: () => true,
  maxItems: MAX_TAGS,
  conversions: { from: { ...fromText, enum: (_value, { formatted }) => ({ input: formatted().split(', ') }) } },
  sample: (_field, locale) => [locale === 'en' ? 'sample' : 'пример'],
});
