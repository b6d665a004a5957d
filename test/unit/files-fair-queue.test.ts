import { expect } from 'chai';
import { FairQueue, firstTry, inTurn, type FirstTry } from '../../server/src/files/workers';

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

  it('draws pages one at a time in turn by user, and drops a waiting drawing whose request went away without running it', async () => {
    const queue = new FairQueue(1);
    const started: string[] = [];
    const jobs = Object.fromEntries(['a1', 'a2', 'a3', 'b1', 'b2', 'c1'].map((name) => [name, gatedJob(started, name)]));
    const aRuns = ['a1', 'a2', 'a3'].map((name) => queue.run('attacker', jobs[name].job));
    const victimLeaves = new AbortController();
    const b1 = queue.run('victim', jobs.b1.job, victimLeaves.signal);
    const b2 = queue.run('victim', jobs.b2.job);
    const c1 = queue.run('colleague', jobs.c1.job);
    await settled();
    expect(started).to.deep.equal(['a1']);
    expect([queue.waitingCount('attacker'), queue.waitingCount('victim'), queue.waitingCount()]).to.deep.equal([2, 2, 5]);
    // The victim's first page: its tab closed while it waited.
    victimLeaves.abort(new Error('request gone'));
    let error: unknown;
    await b1.catch((caught: unknown) => (error = caught));
    expect((error as Error).message).to.equal('request gone');
    expect(queue.waitingCount('victim')).to.equal(1);
    // A round: the attacker (in line before the others came) draws one more page, then each other user's, then the attacker's last.
    for (const name of ['a1', 'a2', 'b2', 'c1']) {
      jobs[name].finish();
      await settled();
    }
    expect(started).to.deep.equal(['a1', 'a2', 'b2', 'c1', 'a3']);
    jobs.a3.finish();
    await Promise.all([...aRuns, b2, c1]);
    expect(started, 'the cancelled drawing never ran').to.not.include('b1');
    // Aborting once its turn came changes nothing: a running drawing is not a waiting one.
    const late = new AbortController();
    const running = queue.run('victim', () => Promise.resolve('drawn'), late.signal);
    late.abort(new Error('too late'));
    expect(await running).to.equal('drawn');
  });

  it('runs a job someone waits for (a view) before background ones (checks nobody looks at), whoever queued them', async () => {
    const queue = new FairQueue(1);
    const started: string[] = [];
    const jobs = Object.fromEntries(['x', 'check1', 'check2', 'view'].map((name) => [name, gatedJob(started, name)]));
    const runs = [queue.run('attacker', jobs.x.job)];
    runs.push(queue.run('attacker', jobs.check1.job, undefined, 'background'), queue.run('other', jobs.check2.job, undefined, 'background'));
    runs.push(queue.run('victim', jobs.view.job));
    expect(queue.waitingCount()).to.equal(3);
    jobs.x.finish();
    await settled();
    expect(started).to.deep.equal(['x', 'view']);
    jobs.view.finish();
    await settled();
    expect(started).to.deep.equal(['x', 'view', 'check1']);
    jobs.check1.finish();
    await settled();
    jobs.check2.finish();
    await Promise.all(runs);
    expect(started).to.deep.equal(['x', 'view', 'check1', 'check2']);
  });

  it('serves work on slow uploaders’ files (theirs timed out before) after everyone else’s, and never in every place', async () => {
    const queue = new FairQueue(2);
    const started: string[] = [];
    const jobs = Object.fromEntries(['h1', 'h2', 'h3', 'victim', 'colleague'].map((name) => [name, gatedJob(started, name)]));
    // Three accounts' hostile files, all of slow uploaders: one place at most for them together.
    const runs = ['h1', 'h2', 'h3'].map((name) => queue.run(name, jobs[name].job, undefined, 'waited', true));
    await settled();
    expect(started).to.deep.equal(['h1']);
    // Another user's view takes the place left at once, though the others queued first.
    runs.push(queue.run('victim', jobs.victim.job));
    await settled();
    expect(started).to.deep.equal(['h1', 'victim']);
    // A colleague queued after the hostile accounts goes before them too.
    runs.push(queue.run('colleague', jobs.colleague.job, undefined, 'background'));
    jobs.victim.finish();
    await settled();
    expect(started).to.deep.equal(['h1', 'victim', 'colleague']);
    jobs.h1.finish();
    await settled();
    expect(started).to.deep.equal(['h1', 'victim', 'colleague', 'h2']);
    jobs.colleague.finish();
    await settled();
    // The place the colleague freed is not the slow uploaders’ second one.
    expect(started).to.deep.equal(['h1', 'victim', 'colleague', 'h2']);
    jobs.h2.finish();
    await settled();
    jobs.h3.finish();
    await Promise.all(runs);
    expect(started).to.deep.equal(['h1', 'victim', 'colleague', 'h2', 'h3']);
  });

  it('lets work run past its first try while nobody waits, stops it once someone does, and does it again with its full limit after everyone else’s work', async () => {
    const queue = new FairQueue(1);
    const started: string[] = [];
    const tries = new Map<string, { first?: FirstTry; answer: (answer: 'answer' | 'yielded' | 'timeout') => void }>();
    // Each attempt notes who, with which limit and whether it may be stopped past its first try; it answers when the test says so.
    const attempt = (name: string) => (limitMs: number, first?: FirstTry) => {
      started.push(`${name}:${limitMs}${first ? ` (first try ${first.afterMs})` : ''}`);
      return new Promise<'answer' | 'yielded' | 'timeout'>((resolve) => tries.set(name, { first, answer: resolve }));
    };
    const yielded = (answer: string) => answer === 'yielded';
    const bomb = inTurn(queue, { owner: 'attacker', slow: false }, 30_000, attempt('bomb'), yielded);
    await settled();
    expect(started).to.deep.equal([`bomb:30000 (first try ${firstTry.timeMs})`]);
    // Nobody waits: the document may run on past its first try.
    expect(tries.get('bomb')!.first!.stopIf()).to.equal(false);
    const view = inTurn(queue, { owner: 'victim', slow: false }, 30_000, attempt('view'), yielded);
    await settled();
    // A victim's view waits: past its first try the document is to be stopped.
    expect(tries.get('bomb')!.first!.stopIf()).to.equal(true);
    tries.get('bomb')!.answer('yielded');
    await settled();
    expect(started).to.deep.equal([`bomb:30000 (first try ${firstTry.timeMs})`, `view:30000 (first try ${firstTry.timeMs})`]);
    tries.get('view')!.answer('answer');
    await settled();
    await settled();
    // Then the document again, with its full limit and no first try, in the slow line.
    expect(started).to.deep.equal([`bomb:30000 (first try ${firstTry.timeMs})`, `view:30000 (first try ${firstTry.timeMs})`, 'bomb:30000']);
    tries.get('bomb')!.answer('timeout');
    expect(await Promise.all([bomb, view])).to.deep.equal(['timeout', 'answer']);
    expect(started).to.have.length(3);
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
