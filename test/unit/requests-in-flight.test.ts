import { expect } from 'chai';
import type { Context } from 'koa';
import { Types } from 'mongoose';
import { requestsInFlightPerUser } from '../../server/src/http/requests-in-flight';

/** A request of `userId` as the middleware sees it: its answer, and a socket the client may close. */
function requestOf(userId: Types.ObjectId) {
  const headers: Record<string, string> = {};
  const ctx = {
    state: { auth: { user: { _id: userId, locale: 'ru' } } },
    req: { socket: { destroyed: false } },
    status: 404,
    body: undefined as unknown,
    get: () => '',
    set: (name: string, value: string) => void (headers[name] = value),
  };
  return { ctx, headers, context: ctx as unknown as Context };
}

/** A handler that runs until `finish` is called, recording that it ran. */
function heldHandler(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    next: async () => {
      log.push(`${name} runs`);
      await done;
    },
    finish: () => finish(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('requests one user has in flight (unit)', () => {
  const limit = requestsInFlightPerUser({ running: 2, waiting: 1 });
  const user = new Types.ObjectId();

  it('runs two at once, lets one wait its turn and refuses the next at once, in the user’s language', async () => {
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => ({ name, request: requestOf(user), handler: heldHandler(log, name) }));
    const served = [a, b, c, d].map(({ request, handler }) => limit(request.context, handler.next));
    await settle();
    expect(log).to.deep.equal(['a runs', 'b runs']);
    expect(d.request.ctx.status).to.equal(429);
    expect(d.request.headers['Retry-After']).to.equal('1');
    expect(JSON.stringify(d.request.ctx.body)).to.include('TOO_MANY_REQUESTS').and.include('Слишком много одновременных запросов от вас (больше 3)');
    b.handler.finish();
    await settle();
    expect(log).to.deep.equal(['a runs', 'b runs', 'c runs']);
    a.handler.finish();
    c.handler.finish();
    await Promise.all(served);
    // The line emptied: two run at once again.
    const log2: string[] = [];
    const [e, f] = ['e', 'f'].map((name) => heldHandler(log2, name));
    const again = [limit(requestOf(user).context, e.next), limit(requestOf(user).context, f.next)];
    await settle();
    expect(log2).to.deep.equal(['e runs', 'f runs']);
    e.finish();
    f.finish();
    await Promise.all(again);
  });

  it('does not serve a request whose client left while it waited, and passes its turn on', async () => {
    const log: string[] = [];
    const [a, b, gone, c] = ['a', 'b', 'gone', 'c'].map((name) => ({ request: requestOf(user), handler: heldHandler(log, name) }));
    const limitOne = requestsInFlightPerUser({ running: 1, waiting: 3 });
    const served = [a, b, gone, c].map(({ request, handler }) => limitOne(request.context, handler.next));
    gone.request.ctx.req.socket.destroyed = true;
    a.handler.finish();
    await settle();
    b.handler.finish();
    await settle();
    c.handler.finish();
    await Promise.all(served);
    expect(log).to.deep.equal(['a runs', 'b runs', 'c runs']);
  });

  it('keeps each user to their own line: a colleague runs while one user’s line is full', async () => {
    const log: string[] = [];
    const limitOne = requestsInFlightPerUser({ running: 1, waiting: 0 });
    const mine = heldHandler(log, 'mine');
    const held = limitOne(requestOf(user).context, mine.next);
    const refused = requestOf(user);
    await limitOne(refused.context, heldHandler(log, 'refused').next);
    const colleague = heldHandler(log, 'colleague');
    const theirs = limitOne(requestOf(new Types.ObjectId()).context, colleague.next);
    await settle();
    expect(refused.ctx.status).to.equal(429);
    expect(log).to.deep.equal(['mine runs', 'colleague runs']);
    mine.finish();
    colleague.finish();
    await Promise.all([held, theirs]);
  });

  it('passes requests without a signed-in user straight on', async () => {
    const log: string[] = [];
    const limitNone = requestsInFlightPerUser({ running: 1, waiting: 0 });
    const anonymous = { ...requestOf(user).ctx, state: { auth: { user: null } } } as unknown as Context;
    const first = heldHandler(log, 'first');
    const second = heldHandler(log, 'second');
    const both = [limitNone(anonymous, first.next), limitNone(anonymous, second.next)];
    await settle();
    expect(log).to.deep.equal(['first runs', 'second runs']);
    first.finish();
    second.finish();
    await Promise.all(both);
  });
});
