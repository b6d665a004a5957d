import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { fromText } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

import type { PhoneNumber } from '../kernel/phone-numbers';

type PhoneLibrary = typeof import('../kernel/phone-numbers');

/** libphonenumber-js and its metadata are big: the client loads them when a form with a phone field opens. */
let library: PhoneLibrary | undefined;

function phoneLibrary(): PhoneLibrary {
  if (!library) throw new Error('The phone field kind is not loaded: await prepareFieldKinds() first');
  return library;
}

/** Numbers without a country code are Russian: «8 (495) 123-45-67» and «495 123 45 67» both mean +7 495 …. */
const defaultCountry = 'RU';

function parsePhone(text: string): PhoneNumber | undefined {
  const parsed = phoneLibrary().parsePhoneNumberFromString(text, defaultCountry);
  return parsed?.isPossible() ? parsed : undefined;
}

/**
 * The stored, displayed form of a phone number: international, with an extension in Russian
 * («+7 495 123 45 67 доб. 123»). Undefined when the text is not a possible phone number.
 */
export function normalizePhone(text: string): string | undefined {
  const parsed = parsePhone(text);
  if (!parsed) return undefined;
  const international = phoneLibrary().parsePhoneNumberFromString(parsed.number)?.formatInternational() ?? parsed.number;
  return parsed.ext ? `${international} доб. ${parsed.ext}` : international;
}

/**
 * Digits for search: a whole number in any spelling gives its full international digits without the
 * extension (8 495 123-45-67 → 74951234567); a fragment such as «123-45-67» gives just its digits.
 */
export function phoneDigits(text: string): string {
  const parsed = parsePhone(text);
  return parsed ? parsed.number.replace(/\D/g, '') : text.replace(/\D/g, '');
}

/** «Телефон»: stored in international form, found by its digits however they are typed. */
export default defineFieldKind({
  key: 'phone',
  labels: { ru: 'Телефон', en: 'Phone' },
  order: 110,
  settingsSchema: (z) => ({ default: z.optional(z.string()) }),
  parse(raw) {
    const phone = typeof raw === 'string' || typeof raw === 'number' ? normalizePhone(String(raw)) : undefined;
    return phone === undefined ? fail(messages.notPhone) : ok(phone);
  },
  normalizeForSearch: (value) => {
    const digits = phoneDigits(String(value));
    return { text: [String(value)], keys: digits.length >= 5 ? [digits] : [] };
  },
  // A whole number however typed («8912…», digits only) is looked for in its stored form; a fragment as typed.
  filter: { operators: ['contains', 'equals', 'in'], contains: (text) => normalizePhone(text) ?? text },
  index: { unique: true },
  conversions: { from: fromText },
  sample: () => '+7 495 123-45-67',
  async load() {
    library ??= await import('../kernel/phone-numbers');
  },
});
