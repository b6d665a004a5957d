import { expect } from 'chai';
import { Cursors, OPEN_BATCH_MS } from '../../server/src/db/memory/cursors';
import type { Doc } from '../../server/src/db/memory/indexes';

/** Documents that each take a few milliseconds to produce, as decoding and matching many large ones does. */
function* slowDocs(count: number): Generator<Doc> {
  for (let n = 0; n < count; n++) {
    const until = performance.now() + OPEN_BATCH_MS / 3;
    while (performance.now() < until);
    yield { _id: n };
  }
}

const ids = (reply: Doc, field: 'firstBatch' | 'nextBatch') => ((reply.cursor as Doc)[field] as Doc[]).map((doc) => doc._id as number);
const cursorId = (reply: Doc) => Number((reply.cursor as Doc).id);

// A batch whose size the client left open is cut after OPEN_BATCH_MS, so other clients are answered
// between its getMores; a size the client asked for, or a single batch, is given whole.
describe('db: cursor batches of an open size are cut by time', () => {
  it('gives a long result in several batches, every document once and in order', () => {
    const cursors = new Cursors();
    const first = cursors.start('db.c', slowDocs(30), undefined, (docs) => docs);
    const seen = ids(first, 'firstBatch');
    expect(seen.length).to.be.within(1, 29);
    let id = cursorId(first);
    let getMores = 0;
    while (id !== 0) {
      const more = cursors.more(id, 'db.c', undefined);
      expect(ids(more, 'nextBatch')).to.have.length.greaterThan(0);
      seen.push(...ids(more, 'nextBatch'));
      id = cursorId(more);
      getMores++;
    }
    expect(getMores).to.be.greaterThan(1);
    expect(seen).to.deep.equal(Array.from({ length: 30 }, (_, n) => n));
  });

  it('gives the batch size asked for whole, however long it takes', () => {
    const cursors = new Cursors();
    const first = cursors.start('db.c', slowDocs(30), 5, (docs) => docs);
    expect(ids(first, 'firstBatch')).to.deep.equal([0, 1, 2, 3, 4]);
    const more = cursors.more(cursorId(first), 'db.c', 25);
    expect(ids(more, 'nextBatch')).to.have.length(25);
    expect(cursorId(more)).to.equal(0);
  });

  it('gives a single batch whole (no cursor is left to ask the rest of)', () => {
    const cursors = new Cursors();
    const only = cursors.start('db.c', slowDocs(30), undefined, (docs) => docs, true);
    expect(ids(only, 'firstBatch')).to.have.length(30);
    expect(cursorId(only)).to.equal(0);
  });
});
