import type { Middleware } from 'koa';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ErrorCode } from '../errors';
import { requestLocale } from '../graphql/context';
import { message } from '../i18n';

/**
 * How many requests of one signed-in user this instance serves at once, and how many more wait in
 * that user's own line; past that a request is refused at once. One user's flood (a script, a
 * client retrying in a loop) then queues behind itself: colleagues' requests are served between
 * its requests instead of after all of them (s11 attack A2: 3,000 parallel requests of one user
 * held a colleague's folder page 20 s and filled the accept queue). A live-event stream takes a
 * place only until its answer starts (the GraphQL handler returns then; streams have their own bound).
 */
export interface RequestsInFlightLimits {
  running: number;
  waiting: number;
}

export function requestsInFlightPerUser(limits: RequestsInFlightLimits): Middleware {
  const lines = new Map<string, LimitFunction>();
  const code: ErrorCode = 'TOO_MANY_REQUESTS';
  return async (ctx, next) => {
    const userId = ctx.state.auth?.user?._id.toHexString();
    if (!userId) return next();
    let line = lines.get(userId);
    if (!line) {
      line = pLimit(limits.running);
      lines.set(userId, line);
    }
    if (line.activeCount >= limits.running && line.pendingCount >= limits.waiting) {
      ctx.status = 429;
      ctx.set('Retry-After', '1');
      ctx.body = { errors: [{ message: message(requestLocale(ctx), 'tooManyRequests', { max: limits.running + limits.waiting }), extensions: { code } }] };
      return;
    }
    const own = line;
    try {
      // A client that went away while its request waited is not served.
      await own(() => (ctx.req.socket.destroyed ? undefined : next()));
    } finally {
      if (own.activeCount === 0 && own.pendingCount === 0 && lines.get(userId) === own) lines.delete(userId);
    }
  };
}
