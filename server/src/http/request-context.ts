import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    logger: Logger;
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
      ctx.state.logger.error({ err: error }, 'request failed');
      ctx.status = 500;
      ctx.body = { error: 'Internal server error', requestId };
    } finally {
      ctx.state.logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started), ip: ctx.ip }, 'request');
    }
  };
}

/** Refuses bodies over the limit before anything reads them (413), and chunked bodies of unknown size (411). */
export function bodyLimit(maxBytes: number): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
    const length = ctx.get('content-length');
    if (length === '') {
      if (ctx.get('transfer-encoding')) {
        ctx.status = 411;
        ctx.body = { error: 'Content-Length required' };
        return;
      }
      return next();
    }
    if (Number(length) > maxBytes) {
      ctx.status = 413;
      ctx.body = { error: `Request body too large (limit ${maxBytes} bytes)` };
      return;
    }
    return next();
  };
}
