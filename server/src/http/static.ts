import { stat } from 'node:fs/promises';
import path from 'node:path';
import { send } from '@koa/send';
import type { Middleware } from 'koa';

/** Paths that belong to the server, never to the client's history-mode routes. */
const SERVER_PATHS = /^\/(graphql|healthz|metrics|api)(\/|$)/;

/**
 * Serves the built client. Unknown GET paths that accept HTML fall back to index.html
 * so client-side routes survive a reload; API paths are left to the router (404 there).
 */
export function serveClient(distDir: string): Middleware {
  const root = path.resolve(distDir);
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || SERVER_PATHS.test(ctx.path)) return next();
    const requested = path.join(root, path.normalize(ctx.path));
    const isFile =
      requested.startsWith(root) &&
      (await stat(requested).then(
        (s) => s.isFile(),
        () => false,
      ));
    if (isFile) {
      // Vite puts content hashes in asset names, so they can be cached for good.
      const immutable = ctx.path.startsWith('/assets/');
      await send(ctx, ctx.path, { root, immutable, maxage: immutable ? 365 * 24 * 3600 * 1000 : 0 });
      return;
    }
    if (path.extname(ctx.path) === '' && ctx.accepts('html') === 'html') {
      ctx.set('Cache-Control', 'no-cache');
      if (
        !(await stat(path.join(root, 'index.html')).then(
          (s) => s.isFile(),
          () => false,
        ))
      ) {
        ctx.status = 503;
        ctx.body = 'The client is not built yet: run `npm run build` (npm start builds it by itself).';
        return;
      }
      await send(ctx, 'index.html', { root });
      return;
    }
    return next();
  };
}
