import { defineFieldKind, fail, ok, plainCell } from '../kernel/field-kind';
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
  // A linked cell («Сайт компании» → https://…): the site is where the link leads; a link elsewhere (a file, an e-mail) leaves the text.
  fromCell: (cell, _field, link) => (link && /^https?:\/\//i.test(link.trim()) ? link : plainCell(cell)),
  normalizeForSearch: wordsAndNumbers,
  toCell: (value) => ({ value: String(value), hyperlink: String(value) }),
  filter: { operators: ['contains', 'equals', 'in'] },
  index: { unique: true },
  conversions: { from: fromText },
  sample: () => 'https://example.com',
});
