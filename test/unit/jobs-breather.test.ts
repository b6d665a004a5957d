import { expect } from 'chai';
import { breather } from '../../server/src/jobs/breather';

// A job's long in-memory loop (an import batch's rows checked, a duplicates scan's pairing) lets the
// server answer other requests once it has held the thread for its turn, and stops at a cancel.
describe('jobs: a long loop gives the thread back', () => {
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('lets waiting requests through once the turn is over, not after every item', async () => {
    const pause = breather(new AbortController().signal, 20);
    let turnsGiven = 0;
    let looping = true;
    const waiting = () => {
      if (!looping) return;
      turnsGiven++;
      setImmediate(waiting);
    };
    setImmediate(waiting);
    for (let item = 0; item < 200; item++) {
      busy(1);
      await pause();
    }
    looping = false;
    expect(turnsGiven, 'other work ran during the loop').to.be.greaterThan(0);
    expect(turnsGiven, 'but not after every item').to.be.lessThan(100);
  });

  it('stops the loop with the cancel’s reason at the next pause', async () => {
    const controller = new AbortController();
    const pause = breather(controller.signal, 0);
    controller.abort(new Error('cancelled by the user'));
    let thrown: unknown = null;
    await pause().catch((error: unknown) => (thrown = error));
    expect((thrown as Error).message).to.equal('cancelled by the user');
  });
});
