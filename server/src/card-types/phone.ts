import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js';

/** Numbers without a country code are Russian: «8 (495) 123-45-67» and «495 123 45 67» both mean +7 495 …. */
const defaultCountry = 'RU';

function parsePhone(text: string): PhoneNumber | undefined {
  const parsed = parsePhoneNumberFromString(text, defaultCountry);
  return parsed?.isPossible() ? parsed : undefined;
}

/**
 * The stored, displayed form of a phone number: international, with an extension in Russian
 * («+7 495 123 45 67 доб. 123»). Undefined when the text is not a possible phone number.
 */
export function normalizePhone(text: string): string | undefined {
  const parsed = parsePhone(text);
  if (!parsed) return undefined;
  const international = parsePhoneNumberFromString(parsed.number)?.formatInternational() ?? parsed.number;
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
