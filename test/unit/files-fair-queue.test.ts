import { expect } from 'chai';
import { FairQueue } from '../../server/src/files/workers';

/** A job that runs until `finish` is called, noting when it started. */
function gatedJob(started: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { job: () => (started.push(name), done), finish: () => finish() };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('files: heavy work on files is taken in turn by uploader (FairQueue)', () => {
  it('runs another user’s job as soon as a place frees, ahead of the rest of one user’s many jobs', async () => {
    const queue = new FairQueue(2);
    const started: string[] = [];
    const jobs = Object.fromEntries(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'c1'].map((name) => [name, gatedJob(started, name)]));
    const runs = ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => queue.run('attacker', jobs[name].job));
    // Nobody else waits: the attacker's first two take both places.
    await settled();
    expect(started).to.deep.equal(['a1', 'a2']);
    runs.push(queue.run('victim', jobs.b1.job), queue.run('colleague', jobs.c1.job));
    jobs.a1.finish();
    await settled();
    // The freed place goes to a user with nothing running, not to the attacker's third job.
    expect(started).to.deep.equal(['a1', 'a2', 'b1']);
    // A round: the attacker (served before the others came) has one more job ahead of the colleague, not all of them.
    jobs.a2.finish();
    await settled();
    expect(started).to.deep.equal(['a1', 'a2', 'b1', 'a3']);
    jobs.b1.finish();
    await settled();
    expect(started).to.deep.equal(['a1', 'a2', 'b1', 'a3', 'c1']);
    jobs.a3.finish();
    jobs.c1.finish();
    await settled();
    expect(started).to.deep.equal(['a1', 'a2', 'b1', 'a3', 'c1', 'a4', 'a5']);
    jobs.a4.finish();
    jobs.a5.finish();
    await Promise.all(runs);
  });

  it('passes a failing job’s error to its caller and keeps serving', async () => {
    const queue = new FairQueue(1);
    const failed = queue.run('someone', () => Promise.reject(new Error('broken PDF')));
    const next = queue.run('someone', () => Promise.resolve('next'));
    let error: unknown;
    await failed.catch((caught: unknown) => (error = caught));
    expect((error as Error).message).to.equal('broken PDF');
    expect(await next).to.equal('next');
  });
});
