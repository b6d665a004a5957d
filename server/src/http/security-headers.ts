import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { Middleware } from 'koa';

type HeaderValue = string | number | readonly string[];

/**
 * helmet's security headers, worked out once: with options that hold no functions (no per-request
 * nonce) they depend on nothing in the request. Run per request (koa-helmet), helmet rebuilt the
 * content policy's text, went through its thirteen middlewares and waited for a promise each time.
 */
export function securityHeaders(options?: HelmetOptions): Middleware {
  const headers = new Map<string, HeaderValue>();
  const response = {
    setHeader: (name: string, value: HeaderValue) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  let ready = false;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    ready = true;
  });
  if (!ready) throw new Error('helmet did not set its headers at once');
  const list = [...headers];
  return (ctx, next) => {
    for (const [name, value] of list) ctx.res.setHeader(name, value);
    return next();
  };
}
