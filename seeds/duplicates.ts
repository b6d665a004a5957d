import { Types } from 'mongoose';
import { renderTitle, searchIndexOf } from '../card-types';
import { builtInCardTypes } from '../card-types/built-in';
import { Card, type CardDoc } from '../server/src/cards/model';

const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;

/**
 * How a second manager might type the same company: the legal form moved or written out, other
 * quotes, another case, a letter dropped from the word. `n` picks one.
 */
export function variantOf(name: string, n: number): string {
  const bare = name.replace(/^ООО\s+/, '').replace(/[«»"]/g, '');
  switch (n % 5) {
    case 0:
      return `${bare} ООО`;
    case 1:
      return `ООО "${bare}"`;
    case 2:
      return `Общество с ограниченной ответственностью «${bare}»`;
    case 3:
      return `ооо ${bare.toUpperCase()}`;
    default:
      // A typo: the second letter of the first word dropped («Альфа» → «Афа»).
      return `ООО «${bare.replace(/^(\p{L})\p{L}/u, '$1')}»`;
  }
}

/**
 * Real duplicates for benchmarks: for `count` counterparties of the folder (spread over it), a
 * second card with the name typed another way and no INN (the INN is unique), loaded in bulk like
 * the generated cards. Returns how many were added.
 */
export async function generateDuplicateVariants(options: { folderId: string; count: number }): Promise<number> {
  const folderId = new Types.ObjectId(options.folderId);
  const total = await Card.countDocuments({ folderId, typeKey: 'counterparty', inTrash: false });
  const step = Math.max(1, Math.floor(total / Math.max(1, options.count)));
  const docs = [];
  let n = 0;
  const cursor = Card.find({ folderId, typeKey: 'counterparty', inTrash: false }).sort({ _id: 1 }).lean<CardDoc[]>().cursor({ batchSize: 2000 });
  for await (const card of cursor) {
    if (n++ % step !== 0 || docs.length >= options.count) continue;
    const { inn: _inn, ...values } = card.values;
    values.name = variantOf(String(card.values.name), docs.length);
    const title = renderTitle(counterparty, values, 'ru');
    docs.push({ ...card, _id: new Types.ObjectId(), values, title, ...searchIndexOf(counterparty, title, values) });
  }
  for (let i = 0; i < docs.length; i += 5000) await Card.collection.insertMany(docs.slice(i, i + 5000), { ordered: false });
  return docs.length;
}
