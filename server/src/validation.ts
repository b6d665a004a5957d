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

  /** Required text: trims it, reports it when empty or over `max` characters. */
  text(field: string, value: string | null | undefined, { required = true, max = 200 } = {}): string {
    const trimmed = (value ?? '').trim();
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
