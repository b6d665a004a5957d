import type { Middleware } from 'koa';
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

/** One user's requests: how many run, and the turns of those waiting, first come first served. */
interface Line {
  running: number;
  waiting: (() => void)[];
}

/**
 * A counter per user rather than p-limit: nearly every request finds its user under the bound, and
 * then costs a map lookup and two additions — p-limit made a limiter for each user whose line had
 * emptied (most requests of a person clicking through pages) and passed every request through its
 * queue and three promises.
 */
export function requestsInFlightPerUser(limits: RequestsInFlightLimits): Middleware {
  const lines = new Map<string, Line>();
  const code: ErrorCode = 'TOO_MANY_REQUESTS';
  return async (ctx, next) => {
    const userId = ctx.state.auth?.user?._id.toHexString();
    if (!userId) return next();
    let line = lines.get(userId);
    if (!line) lines.set(userId, (line = { running: 0, waiting: [] }));
    if (line.running < limits.running) line.running += 1;
    else if (line.waiting.length < limits.waiting) {
      // The place of the request that ends next passes to this one (finally, below).
      const own = line;
      await new Promise<void>((resolve) => own.waiting.push(resolve));
    } else {
      ctx.status = 429;
      ctx.set('Retry-After', '1');
      ctx.body = { errors: [{ message: message(requestLocale(ctx), 'tooManyRequests', { max: limits.running + limits.waiting }), extensions: { code } }] };
      return;
    }
    try {
      // A client that went away while its request waited is not served.
      if (!ctx.req.socket.destroyed) await next();
    } finally {
      const turn = line.waiting.shift();
      if (turn) turn();
      else if (--line.running === 0) lines.delete(userId);
    }
  };
}
