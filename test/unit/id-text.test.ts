import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import { Types } from 'mongoose';
import { idText } from '../../server/src/cards/id-text';

describe('idText (an id as text, once per id object)', () => {
  it('is the id as String() and JSON write it, asked once or many times', () => {
    const id = new Types.ObjectId();
    expect(idText(id)).to.equal(String(id));
    expect(idText(id)).to.equal(id.toHexString());
    expect(JSON.stringify({ id })).to.equal(JSON.stringify({ id: String(id) }));
  });

  it('leaves the id as comparisons, copies and the database see it', () => {
    const id = new Types.ObjectId();
    const same = new Types.ObjectId(id.toHexString());
    idText(id);
    expect(id.equals(same)).to.equal(true);
    expect(isDeepStrictEqual(id, same)).to.equal(true);
    expect(id).to.deep.equal(same);
    expect(Object.keys(id)).to.deep.equal(Object.keys(same));
    expect(Types.ObjectId.isValid(id)).to.equal(true);
  });

  it('keeps each id its own text', () => {
    const ids = [new Types.ObjectId(), new Types.ObjectId()];
    expect(ids.map(idText)).to.deep.equal(ids.map(String));
  });
});
