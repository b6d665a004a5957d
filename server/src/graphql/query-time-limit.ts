import { AsyncLocalStorage } from 'node:async_hooks';
import { GraphQLError } from 'graphql';
import type { Middleware } from 'koa';
import mongoose from 'mongoose';
import { requestLocale } from './context';
import type { ErrorCode } from '../errors';
import { message, type Locale } from '../i18n';

interface RequestQueries {
  maxTimeMS: number;
  locale: () => Locale;
}

const requestQueries = new AsyncLocalStorage<RequestQueries>();

/**
 * mongoose's global `maxTimeMS` option ("attaches maxTimeMS to every query": find, findOne, count,
 * distinct, findOneAndUpdate, aggregate), read from the options `mongoose.set` writes to as each
 * query runs: the request's limit while one is served, 0 — no limit, as in MongoDB — for everything
 * else (jobs, backups, start-up), whose long reads are their purpose. Cursors and the driver's own
 * collections are not limited by it. (mongoose's types do not declare that options object.)
 */
Object.defineProperty((mongoose as unknown as { options: object }).options, 'maxTimeMS', {
  configurable: true,
  enumerable: true,
  get: () => requestQueries.getStore()?.maxTimeMS ?? 0,
});

/**
 * Gives every database query of a request at most `maxTimeMS` (QUERY_TIME_LIMIT_MS), so that no
 * request holds the database without end: past it the database stops the query (MaxTimeMSExpired)
 * and the request is answered «Запрос выполнялся слишком долго…».
 */
export function limitRequestQueries(maxTimeMS: number): Middleware {
  return (ctx, next) => requestQueries.run({ maxTimeMS, locale: () => requestLocale(ctx) }, next);
}

const QUERY_TIMEOUT: ErrorCode = 'TIMEOUT';

/** MongoDB's (and the built-in database's) error for a command stopped at its `maxTimeMS`. */
const MAX_TIME_MS_EXPIRED = 50;

/** Whether the error is a query of a request stopped at the request's limit. */
export function isRequestQueryTimeout(error: unknown): boolean {
  return error instanceof mongoose.mongo.MongoServerError && error.code === MAX_TIME_MS_EXPIRED && requestQueries.getStore() !== undefined;
}

/** What the user reads when a query of their request ran out of time, in their language. */
function requestQueryTimeoutMessage(): string {
  const scope = requestQueries.getStore();
  const locale = scope?.locale() ?? 'ru';
  return message(locale, 'queryTimedOut', { seconds: new Intl.NumberFormat(locale).format((scope?.maxTimeMS ?? 0) / 1000) });
}

/** The GraphQL error for a field whose query ran out of time (at the field's path), instead of the driver's text. */
export function requestQueryTimeoutError(error: GraphQLError): GraphQLError {
  return new GraphQLError(requestQueryTimeoutMessage(), { nodes: error.nodes, path: error.path, extensions: { code: QUERY_TIMEOUT } });
}
