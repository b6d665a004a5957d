import { expect } from 'chai';
import mongoose, { Schema, type Connection } from 'mongoose';
import { testMongoUri, uniqueDbName } from '../support/mongo';

const authorSchema = new Schema({ name: { type: String, required: true }, email: { type: String, unique: true, sparse: true }, born: Number });
const bookSchema = new Schema({ title: { type: String, required: true }, author: { type: Schema.Types.ObjectId, ref: 'Author' }, tags: [String], summary: String });
bookSchema.index({ title: 'text', summary: 'text' });
const authorModel = (connection: Connection) => connection.model('Author', authorSchema);
const bookModel = (connection: Connection) => connection.model('Book', bookSchema);

describe('db conformance: mongoose 9 models', function () {
  let connection: Connection;
  let Author: ReturnType<typeof authorModel>;
  let Book: ReturnType<typeof bookModel>;

  before(async () => {
    connection = await mongoose.createConnection(await testMongoUri(), { dbName: uniqueDbName('mongoose') }).asPromise();
    Author = authorModel(connection);
    Book = bookModel(connection);
    await Author.init();
    await Book.init();
  });
  after(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('creates, reads lean documents and populates references', async () => {
    const tolstoy = await Author.create({ name: 'Лев Толстой', email: 'leo@example.org', born: 1828 });
    await Book.create([
      { title: 'Война и мир', author: tolstoy._id, tags: ['роман'], summary: 'Эпопея о войне 1812 года' },
      { title: 'Анна Каренина', author: tolstoy._id, tags: ['роман'], summary: 'Роман о любви' },
    ]);
    const lean = await Book.find({ tags: 'роман' }).sort({ title: 1 }).lean();
    expect(lean.map((b) => b.title)).to.deep.equal(['Анна Каренина', 'Война и мир']);
    expect(lean[0]).not.to.be.instanceOf(mongoose.Document);
    const populated = await Book.findOne({ title: 'Война и мир' }).populate<{ author: { name: string } }>('author');
    expect(populated!.author.name).to.equal('Лев Толстой');
    expect(await Book.countDocuments({ author: tolstoy._id })).to.equal(2);
    expect(await Book.estimatedDocumentCount()).to.equal(2);
  });

  it('reports unique violations as MongoServerError 11000 with keyValue', async () => {
    await Author.create({ name: 'A', email: 'dup@example.org' });
    const error = (await Author.create({ name: 'B', email: 'dup@example.org' }).catch((e: unknown) => e)) as { code: number; keyValue: unknown; name: string };
    expect(error.name).to.equal('MongoServerError');
    expect(error.code).to.equal(11000);
    expect(error.keyValue).to.deep.equal({ email: 'dup@example.org' });
    const bulk = (await Author.insertMany([
      { name: 'C', email: 'c@x' },
      { name: 'D', email: 'dup@example.org' },
    ]).catch((e: unknown) => e)) as { code: number };
    expect(bulk.code).to.equal(11000);
  });

  it('updates, upserts, deletes and validates', async () => {
    const updated = await Author.findOneAndUpdate({ name: 'A' }, { $set: { born: 1900 } }, { returnDocument: 'after' }).lean();
    expect(updated!.born).to.equal(1900);
    const upserted = await Author.findOneAndUpdate({ name: 'Z' }, { $setOnInsert: { born: 2000 } }, { upsert: true, returnDocument: 'after' }).lean();
    expect(upserted!.born).to.equal(2000);
    const res = await Author.updateMany({ born: { $gte: 1900 } }, { $inc: { born: 1 } });
    expect(res.modifiedCount).to.equal(2);
    expect((await Author.deleteOne({ name: 'Z' })).deletedCount).to.equal(1);
    const invalid = await Author.create({ email: 'x@y' }).catch((e: unknown) => e);
    expect(invalid).to.be.instanceOf(mongoose.Error.ValidationError);
    const doc = await Author.findOne({ name: 'A' });
    doc!.born = 1950;
    await doc!.save();
    expect((await Author.findById(doc!._id).lean())!.born).to.equal(1950);
    expect(await Author.exists({ name: 'nobody' })).to.equal(null);
    expect((await Author.distinct('name')).length).to.be.at.least(2);
  });

  it('finds through the text index and runs aggregations', async () => {
    const hits = await Book.find({ $text: { $search: 'войне' } }, { score: { $meta: 'textScore' } })
      .sort({ score: { $meta: 'textScore' } })
      .lean();
    expect(hits.map((b) => b.title)).to.deep.equal(['Война и мир']);
    const grouped = await Book.aggregate<{ _id: string; n: number }>([{ $unwind: '$tags' }, { $group: { _id: '$tags', n: { $sum: 1 } } }]);
    expect(grouped).to.deep.equal([{ _id: 'роман', n: 2 }]);
    const indexes = await Book.listIndexes();
    expect(indexes.map((i) => i.name)).to.include('title_text_summary_text');
  });

  it('runs a mongoose transaction and rolls it back on error', async () => {
    await connection.transaction(async (session) => {
      await Author.create([{ name: 'In transaction' }], { session });
    });
    expect(await Author.countDocuments({ name: 'In transaction' })).to.equal(1);
    const failed = await connection
      .transaction(async (session) => {
        await Author.create([{ name: 'Rolled back' }], { session });
        throw new Error('nope');
      })
      .catch((e: Error) => e);
    expect((failed as Error).message).to.equal('nope');
    expect(await Author.countDocuments({ name: 'Rolled back' })).to.equal(0);
  });
});
