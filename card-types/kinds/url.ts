import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { fromText, wordsAndNumbers } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

const maxLength = 2000;

/** «Адрес сайта»: http(s) addresses; «example.ru» becomes «https://example.ru». */
export default defineFieldKind({
  key: 'url',
  labels: { ru: 'Адрес сайта', en: 'Web address' },
  order: 120,
  settingsSchema: (z) => ({ default: z.optional(z.string()) }),
  parse(raw) {
    const text = typeof raw === 'string' ? raw.trim() : '';
    const address = /^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `https://${text}`;
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return fail(messages.notUrl);
    }
    const valid =
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (/^[^.]+(\.[^.]+)+$/.test(url.hostname) || url.hostname === 'localhost') &&
      !/\s/.test(text) &&
      address.length <= maxLength;
    return valid ? ok(address) : fail(messages.notUrl);
  },
  normalizeForSearch: wordsAndNumbers,
  toCell: (value) => ({ value: String(value), hyperlink: String(value) }),
  filter: { operators: ['contains', 'equals', 'in'] },
  index: { unique: true },
  conversions: { from: fromText },
  sample: () => 'https://example.com',
});
