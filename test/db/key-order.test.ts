import { expect } from 'chai';
import { Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { compareValues, keyString } from '../../server/src/db/memory/bson-order';
import { encodeValue, KeyWriter } from '../../server/src/db/memory/keys';

const D = (text: string) => Decimal128.fromString(text);

/** Values in MongoDB's ascending order; neighbours in one inner list are equal. */
const ORDERED: unknown[][] = [
  [null],
  [NaN, D('NaN')],
  [-Infinity, D('-Infinity')],
  [D('-1e400')],
  [-Number.MAX_VALUE],
  [Long.MIN_VALUE, -(2 ** 63)],
  [Long.fromString('-9007199254740993'), D('-9007199254740993')],
  [-(2 ** 53)],
  [-1.5, D('-1.50')],
  [-1, new Int32(-1), D('-1'), Long.fromNumber(-1)],
  [-0.1],
  [D('-0.1')],
  [0, -0, D('0'), D('-0')],
  [D('1e-400')],
  [5e-324],
  [D('0.1')],
  [D('0.1000000000000000055511151231257827')],
  [0.1],
  [D('0.1000000000000000055511151231257828')],
  [D('0.1000000000000000055511151231257829')],
  [1, new Double(1), D('1.000'), Long.fromNumber(1)],
  [2 ** 53, Long.fromString('9007199254740992')],
  [Long.fromString('9007199254740993'), D('9007199254740993')],
  [D('9007199254740993.5')],
  [2 ** 53 + 2],
  [Long.MAX_VALUE],
  [2 ** 63],
  [Number.MAX_VALUE],
  [D('1e400')],
  [Infinity, D('Infinity')],
  [''],
  ['a'],
  ['a\u0000'],
  ['ab'],
  ['\ue000'],
  ['\uffff'],
  ['😀'],
  [{}],
  [{ x: 1 }, { x: D('1') }],
  [{ x: 1, y: 2 }],
  [{ y: 2, x: 1 }],
  [[]],
  [[1]],
  [[1, 2]],
  [new ObjectId('000000000000000000000001')],
  [false],
  [true],
  [new Date(-1)],
  [new Date(0)],
];

function key(value: unknown): { bytes: Buffer; inexact: boolean } {
  const w = new KeyWriter();
  encodeValue(w, value);
  return { bytes: w.take(), inexact: w.inexact };
}

describe('db: index key order is the comparison order', function () {
  it('orders every pair of values alike in index keys, in comparisons and in equality keys', () => {
    const flat = ORDERED.flatMap((group, rank) => group.map((value) => ({ value, rank })));
    for (const a of flat) {
      for (const b of flat) {
        const expected = Math.sign(a.rank - b.rank);
        const label = `${String(a.value)} vs ${String(b.value)}`;
        expect(Math.sign(compareValues(a.value, b.value)), label).to.equal(expected);
        const ka = key(a.value);
        const kb = key(b.value);
        // Keys of values beyond the doubles' range are marked inexact: they may tie with a neighbour.
        if (!(ka.inexact && kb.inexact && Buffer.compare(ka.bytes, kb.bytes) === 0)) expect(Math.sign(Buffer.compare(ka.bytes, kb.bytes)), label).to.equal(expected);
        expect(keyString(a.value) === keyString(b.value), label).to.equal(expected === 0);
      }
    }
  });

  it('writes a double, an int and a long within 2^53 as the same ten-byte number key', () => {
    const bytes = key(5).bytes;
    expect(bytes).to.have.length(11);
    for (const same of [new Int32(5), new Double(5), Long.fromNumber(5), D('5'), D('5.00')]) expect(key(same).bytes.equals(bytes), String(same)).to.equal(true);
  });
});
