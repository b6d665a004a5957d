import { GraphQLError } from 'graphql';

/**
 * Domain errors are GraphQL errors with a stable `extensions.code`, so yoga passes them
 * to the client unmasked while unexpected errors stay masked.
 */
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'TOO_MANY_REQUESTS' | 'MAINTENANCE';

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }
}

/** Invalid input; `fields` maps each offending field key to a message for that field. */
export class UserInputError extends AppError {
  constructor(message: string, readonly fields: Record<string, string> = {}) {
    super('BAD_USER_INPUT', message, { fields });
  }
}
