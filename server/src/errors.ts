import { GraphQLError } from 'graphql';
import { message, type Locale } from './i18n';

/**
 * Domain errors are GraphQL errors with a stable `extensions.code`, so yoga passes them
 * to the client unmasked while unexpected errors stay masked.
 */
/**
 * `UNPROCESSABLE`: a stored file the server cannot make a preview of (HTTP routes only).
 * `PAYLOAD_TOO_LARGE`: a request body over the body limit (413, answered before GraphQL).
 * `TIMEOUT`: a query of the request ran past QUERY_TIME_LIMIT_MS and was stopped.
 */
export type ErrorCode =
  'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'TOO_MANY_REQUESTS' | 'MAINTENANCE' | 'UNPROCESSABLE' | 'PAYLOAD_TOO_LARGE' | 'TIMEOUT';

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }
}

/** Invalid input; `fields` maps each offending field key to a message for that field. */
export class UserInputError extends AppError {
  constructor(
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super('BAD_USER_INPUT', message, { fields });
  }
}

/** The actor may not do this (FORBIDDEN), in their language. */
export function forbidden(actor: { locale: Locale }, what: string): AppError {
  return new AppError('FORBIDDEN', message(actor.locale, 'forbidden', { what }));
}

/** Missing, or hidden from the actor — the two answer alike (NOT_FOUND), in their language. */
export function notFound(actor: { locale: Locale }, what: string): AppError {
  return new AppError('NOT_FOUND', message(actor.locale, 'notFound', { what }));
}
