import { AsyncLocalStorage } from 'node:async_hooks';
import { GraphQLError } from 'graphql';
import type { Context, Middleware } from 'koa';
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
 * mongoose's global `maxTimeMS` option, read from the options `mongoose.set` writes to as each query
 * runs: the request's limit while one is served, 0 — no limit, as in MongoDB — for everything else
 * (jobs, backups, start-up), whose long reads are their purpose. (mongoose's types do not declare
 * that options object.) mongoose gives it to find, findOne, countDocuments, estimatedDocumentCount,
 * findOneAndUpdate and aggregate when they are executed — not to what the request paths do besides:
 * - a find read through a cursor: `limitedLikeItsRequest` gives it the limit where a request may read
 *   without end (`permittedCards`; on MongoDB the limit covers the cursor's whole life, the built-in
 *   database applies it to the first batch). The search's walks stop at SEARCH_CANDIDATES cards by
 *   themselves; downloads (an export's rows, an import's refused rows) stream after their answer
 *   started, are meant to run long (an export is held by its daily rows) and are not limited;
 * - updateMany / deleteMany / distinct and the driver's own `Model.collection` calls: on request paths
 *   they write lists of ids the request holds or one card's own rows (files of a trashed card, its
 *   duplicate keys, read marks), bounded by what they name, inside the request's transaction — a
 *   limit there would only turn a slow disk into a rolled-back save. The one as large as a folder,
 *   moving a folder's cards to another library (`moveFolder`, one updateMany in one transaction;
 *   s14 attack: 50,526 cards in 26 s), is what the user asked for, not a read someone shaped: a limit
 *   would leave large folders unmovable, so it is left unlimited (a job would be its proper home).
 *   The export's distinct of the folder's card types is part of that download, as long as its rows.
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

/** A find to be read through a cursor, given the request's limit as `exec` would be (unchanged outside a request). */
export function limitedLikeItsRequest<Q extends { maxTimeMS(ms: number): unknown }>(query: Q): Q {
  const limit = requestQueries.getStore()?.maxTimeMS;
  if (limit) query.maxTimeMS(limit);
  return query;
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

/**
 * Answers a request stopped by a query that ran out of time outside GraphQL's resolvers — an upload,
 * a download or an export's count on the REST routes, the session lookup — with the same message and
 * code TIMEOUT (503), in both shapes the routes answer in: `errors` (GraphQL, files) and `code` with
 * `error` (transfer). False for any other error, and when the answer has started already (a download
 * stopped mid-way can only be cut off).
 */
export function answerRequestQueryTimeout(ctx: Context, error: unknown): boolean {
  if (!isRequestQueryTimeout(error) || ctx.headerSent) return false;
  const text = requestQueryTimeoutMessage();
  ctx.status = 503;
  ctx.body = { code: QUERY_TIMEOUT, error: text, errors: [{ message: text, extensions: { code: QUERY_TIMEOUT } }] };
  return true;
}

/** The GraphQL error for a field whose query ran out of time (at the field's path), instead of the driver's text. */
export function requestQueryTimeoutError(error: GraphQLError): GraphQLError {
  return new GraphQLError(requestQueryTimeoutMessage(), { nodes: error.nodes, path: error.path, extensions: { code: QUERY_TIMEOUT } });
}
