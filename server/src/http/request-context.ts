import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context, Middleware } from 'koa';
import type { ErrorCode } from '../errors';
import { answerRequestQueryTimeout } from '../graphql/query-time-limit';
import { localeFromHeader, message } from '../i18n';
import type { Logger } from '../logger';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    logger: Logger;
    /** A chunked request's body, read whole within the body limit (bodyLimit). */
    body?: Buffer;
  }
}

const INCOMING_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Gives every request an id (echoed as X-Request-Id), a child logger carrying it, and one access-log line. */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.logger = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } catch (error) {
      if (answerRequestQueryTimeout(ctx, error)) {
        ctx.state.logger.warn({ err: error }, 'request stopped: its query ran past the time limit');
      } else {
        ctx.state.logger.error({ err: error }, 'request failed');
        ctx.status = 500;
        ctx.body = { error: 'Internal server error', requestId };
      }
    } finally {
      ctx.state.logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started), ip: ctx.ip }, 'request');
    }
  };
}

/**
 * A request's body is not read on once it is answered (an endless chunked body would be read and
 * dropped for as long as the client sends): the answer says `Connection: close`, and the connection
 * is closed once it is written. Browsers still read the answer (Chromium shows the refusal of an upload
 * it was still sending).
 */
export function stopReading(ctx: Context): void {
  if (ctx.req.complete) return;
  ctx.set('Connection', 'close');
  ctx.req.unpipe();
  const { socket } = ctx.req;
  ctx.res.once('finish', () => socket.destroy());
}

/**
 * A request's body read whole; `tooLarge` as soon as it passes `maxBytes` (reading stops there: the
 * request is paused and left), `gone` when the client went away before its end.
 */
function readWithin(request: IncomingMessage, maxBytes: number): Promise<Buffer | 'tooLarge' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: Buffer | 'tooLarge' | 'gone') => {
      request.off('data', received);
      request.off('end', ended);
      request.off('close', closed);
      resolve(outcome);
    };
    const received = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else {
        request.pause();
        finish('tooLarge');
      }
    };
    const ended = () => finish(Buffer.concat(chunks));
    const closed = () => finish('gone');
    request.on('data', received);
    request.once('end', ended);
    request.once('close', closed);
  });
}

/**
 * Bodies within `maxBytes` (not for GET, HEAD or OPTIONS): one that says it is larger (Content-Length)
 * is refused before any of it is read; one of unknown size (chunked) is read here, refused as soon as
 * it passes the limit, and kept in `ctx.state.body` for the handler (requestWithBody). A refusal is
 * 413 with the API's error in the client's language, and the connection is closed without reading on
 * (stopReading).
 */
export function bodyLimit(maxBytes: number): Middleware {
  const code: ErrorCode = 'PAYLOAD_TOO_LARGE';
  const refuse = (ctx: Context) => {
    const locale = localeFromHeader(ctx.get('accept-language'));
    ctx.status = 413;
    ctx.body = { errors: [{ message: message(locale, 'bodyTooLarge', { kb: Math.floor(maxBytes / 1024) }), extensions: { code } }] };
    stopReading(ctx);
  };
  return async (ctx, next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
    const length = ctx.get('content-length');
    if (length !== '') return Number(length) > maxBytes ? refuse(ctx) : next();
    if (!ctx.get('transfer-encoding')) return next();
    const body = await readWithin(ctx.req, maxBytes);
    // A client gone before its body ended has nobody left to answer.
    if (body === 'gone') return;
    if (body === 'tooLarge') return refuse(ctx);
    ctx.state.body = body;
    return next();
  };
}

/**
 * The request as a handler reading a Node request takes it (method, URL, headers, socket, and the body
 * as a stream): the request itself, or, when bodyLimit read its body already, that body in a stream of its own.
 */
export function requestWithBody(ctx: Context): Readable & Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'socket'> {
  const { req } = ctx;
  if (!ctx.state.body) return req;
  return Object.assign(Readable.from([ctx.state.body]), { method: req.method, url: req.url, headers: req.headers, socket: req.socket });
}
