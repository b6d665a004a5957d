import { expect } from 'chai';
import { BSONRegExp, MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

type Named = { _id: number; s: string };

/** `$regex` as MongoDB reads it (PCRE): a pattern cannot hold the server, and PCRE syntax is understood or refused, never answered wrongly. */
describe('db conformance: $regex', function () {
  let client: MongoClient;
  let db: Db;
  let c: Collection<Named>;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('regex'));
    c = db.collection<Named>('texts');
    await c.insertMany([
      { _id: 1, s: `${'a'.repeat(32)}b` },
      { _id: 2, s: 'aaaa' },
      { _id: 3, s: 'abc\n' },
      { _id: 4, s: 'Альфа-1' },
      { _id: 5, s: 'a\nc' },
      { _id: 6, s: 'abcabc' },
    ]);
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  const ids = async (filter: object) => (await c.find(filter).sort({ _id: 1 }).toArray()).map((doc) => doc._id);

  it('answers a catastrophic-backtracking pattern against a long string (^(a+)+$ against a…ab) at once', async () => {
    // JavaScript's backtracking engine takes 2^32 steps here: the query never came back, and nothing else was answered meanwhile.
    expect(await ids({ s: { $regex: '^(a+)+$' } })).to.deep.equal([2]);
    expect(await ids({ s: /^(a|aa)+$/ })).to.deep.equal([2]);
    expect(await client.db('admin').command({ ping: 1 })).to.include({ ok: 1 });
  });

  it('reads PCRE syntax: inline (?i), $ and \\Z before a final newline, \\A, \\Q…\\E, POSIX classes, the x and s options', async () => {
    expect(await ids({ s: { $regex: '(?i)^альфа' } }), '(?i)').to.deep.equal([4]);
    expect(await ids({ s: { $regex: '^abc$' } }), '$ before a final newline').to.deep.equal([3]);
    expect(await ids({ s: { $regex: 'abc\\Z' } }), '\\Z').to.deep.equal([3, 6]);
    expect(await ids({ s: { $regex: '\\Aabc\\z' } }), '\\A … \\z').to.deep.equal([]);
    expect(await ids({ s: { $regex: '^\\Qa.\\E|^\\Qab\\E' } }), '\\Q…\\E').to.deep.equal([3, 6]);
    expect(await ids({ s: { $regex: '-[[:digit:]]$' } }), 'POSIX class').to.deep.equal([4]);
    expect(await ids({ s: { $regex: '^ a b c # letters', $options: 'x' } }), 'x option').to.deep.equal([3, 6]);
    expect(await ids({ s: { $regex: '^a.c$', $options: 's' } }), 's option').to.deep.equal([3, 5]);
    // A BSON regex with the s option (the decoder makes it a RegExp with the g flag, whose test() kept its place between documents).
    expect(await ids({ s: new BSONRegExp('^a.c', 's') }), 'BSON regex with s').to.deep.equal([3, 5, 6]);
    expect(await ids({ s: { $in: [new BSONRegExp('^a.c', 's'), 'aaaa'] } }), '$in with a BSON regex').to.deep.equal([2, 3, 5, 6]);
  });

  it('a backreference, lookahead or possessive quantifier is honoured or refused as not implemented, never ignored', async () => {
    // Real MongoDB (PCRE) answers them; the built-in engine refuses them, naming the construct.
    const cases: [object, number[], RegExp][] = [
      [{ s: { $regex: '^(abc)\\1$' } }, [6], /backreference/],
      [{ s: { $regex: '^a(?=b)' } }, [3, 6], /lookaround/],
      [{ s: { $regex: '^a++$' } }, [2], /possessive/],
    ];
    for (const [filter, expected, construct] of cases) {
      const found = await ids(filter).catch((e: unknown) => e as MongoServerError);
      if (found instanceof MongoServerError) {
        expect(found.code, `${JSON.stringify(filter)} refused as not implemented`).to.equal(238);
        expect(found.message, JSON.stringify(filter)).to.match(construct);
      } else expect(found, JSON.stringify(filter)).to.deep.equal(expected);
    }
  });

  it('refuses an unknown option and an invalid pattern with MongoDB’s errors', async () => {
    const option = (await ids({ s: { $regex: 'a', $options: 'z' } }).catch((e: unknown) => e)) as MongoServerError;
    expect(option.code).to.equal(51108);
    const pattern = (await ids({ s: { $regex: 'a(' } }).catch((e: unknown) => e)) as MongoServerError;
    expect(pattern.code).to.equal(51091);
  });
});
