import { Types } from 'mongoose';
import { cleanText } from '../../card-types';
import { UserInputError } from './errors';
import { message, type Locale, type MessageKey } from './i18n';

/** Collects field-level messages and throws them together as BAD_USER_INPUT. */
export class FieldErrors {
  private readonly fields: Record<string, string> = {};

  constructor(private readonly locale: Locale) {}

  add(field: string, key: MessageKey, params: Record<string, string | number> = {}): void {
    this.fields[field] ??= message(this.locale, key, params);
  }

  /** A message already in the user's language (e.g. from card type validation). */
  addMessage(field: string, text: string): void {
    this.fields[field] ??= text;
  }

  /**
   * Required text on one line (a name, a login), cleaned as card text is: without control characters,
   * bidirectional overrides and invisible letters (a full name with U+202E reads as another person's,
   * s10 re-attack S4), trimmed; reports it when empty or over `max` characters.
   */
  text(field: string, value: string | null | undefined, { required = true, max = 200 } = {}): string {
    const trimmed = cleanText(value ?? '', false);
    if (required && trimmed === '') this.add(field, 'required');
    else if (trimmed.length > max) this.add(field, 'tooLong', { max });
    return trimmed;
  }

  has(field: string): boolean {
    return field in this.fields;
  }

  throwIfAny(): void {
    if (Object.keys(this.fields).length > 0) {
      throw new UserInputError(message(this.locale, 'invalidInput'), { ...this.fields });
    }
  }
}

/** True for MongoDB's duplicate key error (code 11000), however the driver or mongoose wraps it. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/** Refuses one argument with a field-level message (BAD_USER_INPUT naming it). */
export function refuseField(locale: Locale, field: string, key: MessageKey, params: Record<string, string | number> = {}): never {
  throw new UserInputError(message(locale, 'invalidInput'), { [field]: message(locale, key, params) });
}

/** 24 hexadecimal digits: the only text taken as an ObjectId (mongoose would also take any 12 characters). */
export const isObjectIdText = (id: string): boolean => /^[0-9a-f]{24}$/i.test(id);

/** A well-formed ObjectId string for a filter, or a refusal naming the argument. */
export function objectIdArgument(locale: Locale, field: string, id: string): Types.ObjectId {
  if (!isObjectIdText(id)) refuseField(locale, field, 'badId');
  return new Types.ObjectId(id);
}

/** Free text typed into a search box: trimmed, bounded, without control characters. */
export function searchText(locale: Locale, field: string, text: string, max = 200): string {
  const trimmed = text.trim();
  if (trimmed.length > max) refuseField(locale, field, 'tooLong', { max });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) refuseField(locale, field, 'controlCharacters');
  return trimmed;
}

/** Rows a page may hold: at least one (a limit of 0 would mean "no limit" to MongoDB), at most `max`. */
/** Rows of a list page when the request sets no `first` (the schema leaves it unset where `ids` may be given instead). */
export const DEFAULT_PAGE_SIZE = 50;
/** Cards of a related tab's page, at most (`relatedCards(first:)`). */
export const MAX_RELATED_CARDS = 500;
/** Cards merged into one at a time, at most (a merge's `merged` has no `first`: the cost limit counts these). */
export const MAX_MERGED = 20;
export const pageSize = (first: number, max: number) => Math.min(Math.max(first, 1), max);

/** User text for a `$regex`: every metacharacter escaped, so it matches literally. */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
