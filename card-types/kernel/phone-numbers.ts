/** The part of libphonenumber-js the phone kind uses (its metadata is most of the weight): loaded on demand. */
export { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js';
