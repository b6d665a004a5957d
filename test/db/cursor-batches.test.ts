import { expect } from 'chai';
import { Cursors, OPEN_BATCH_DOCS, OPEN_BATCH_MS } from '../../server/src/db/memory/cursors';
import type { Doc } from '../../server/src/db/memory/indexes';

/** Documents that each take a while to produce, as decoding and matching many large ones does: OPEN_BATCH_DOCS of them take 2 × OPEN_BATCH_MS. */
function* slowDocs(count: number): Generator<Doc> {
  for (let n = 0; n < count; n++) {
    const until = performance.now() + (2 * OPEN_BATCH_MS) / OPEN_BATCH_DOCS;
    while (performance.now() < until);
    yield { _id: n };
  }
}

const ids = (reply: Doc, field: 'firstBatch' | 'nextBatch') => ((reply.cursor as Doc)[field] as Doc[]).map((doc) => doc._id as number);
const cursorId = (reply: Doc) => Number((reply.cursor as Doc).id);
const TOTAL = 2 * OPEN_BATCH_DOCS + 48;

// A getMore whose size the client left open stops after OPEN_BATCH_MS once it holds OPEN_BATCH_DOCS,
// so other clients are answered between the getMores of a long read; a size the client asked for is given whole.
describe('db: getMore batches of an open size are cut by time', () => {
  it('gives a long result in several batches, every document once and in order', () => {
    const cursors = new Cursors();
    const first = cursors.start('db.c', slowDocs(TOTAL), undefined, (docs) => docs);
    const batches = [ids(first, 'firstBatch')];
    let id = cursorId(first);
    while (id !== 0) {
      const more = cursors.more(id, 'db.c', undefined);
      batches.push(ids(more, 'nextBatch'));
      id = cursorId(more);
    }
    expect(batches.map((batch) => batch.length)).to.deep.equal([OPEN_BATCH_DOCS, OPEN_BATCH_DOCS, 48]);
    expect(batches.flat()).to.deep.equal(Array.from({ length: TOTAL }, (_, n) => n));
  });

  it('gives the batch size asked for whole, however long it takes', () => {
    const cursors = new Cursors();
    const first = cursors.start('db.c', slowDocs(TOTAL), 5, (docs) => docs);
    expect(ids(first, 'firstBatch')).to.deep.equal([0, 1, 2, 3, 4]);
    const more = cursors.more(cursorId(first), 'db.c', TOTAL - 5);
    expect(ids(more, 'nextBatch')).to.have.length(TOTAL - 5);
    expect(cursorId(more)).to.equal(0);
  });
});
