import mongoose, { Types } from 'mongoose';
import { renderTitle, searchIndexOf } from '../../card-types';
import { builtInCardTypes } from '../../card-types/built-in';
import { Card } from '../../server/src/cards/model';

const counterparty = builtInCardTypes.find((type) => type.key === 'counterparty')!;

/** Counterparties named `names` (with `extra` values), stored in bulk in a folder as the card service stores them (title, words). */
export async function storeCounterparties(place: { folderId: string; libraryId: string }, names: string[], authorId: string, extra: Record<string, unknown> = {}): Promise<void> {
  const now = new Date();
  await Card.insertMany(
    names.map((name) => {
      const values = { name, ...extra };
      const title = renderTitle(counterparty, values, 'ru');
      return {
        typeKey: 'counterparty',
        folderId: new Types.ObjectId(place.folderId),
        libraryId: new Types.ObjectId(place.libraryId),
        title,
        values,
        ...searchIndexOf(counterparty, title, values),
        createdBy: new Types.ObjectId(authorId),
        updatedBy: new Types.ObjectId(authorId),
        createdAt: now,
        updatedAt: now,
      };
    }),
  );
}

/** The prefix a word search reads the range of: its `searchWords` condition `/^prefix/` (the first of its `$and`, the rarest word, when it has more). */
function rangeRead(command: Record<string, unknown>): string | undefined {
  const filter = command.filter as { searchWords?: unknown; $and?: { searchWords?: unknown }[] } | undefined;
  const words = filter?.searchWords ?? filter?.$and?.[0]?.searchWords;
  const source = words instanceof RegExp ? words.source : (words as { pattern?: unknown } | undefined)?.pattern;
  return typeof source === 'string' && source.startsWith('^') ? source.slice(1) : undefined;
}

/** The largest `totalDocsExamined` (or `totalKeysExamined`) in an explain output (at its top level, or under an aggregate's `$cursor`). */
const examined = (explained: unknown, what: 'Docs' | 'Keys') =>
  Math.max(0, ...[...JSON.stringify(explained).matchAll(new RegExp(`"total${what}Examined":(\\d+)`, 'g'))].map((m) => Number(m[1])));

interface Read {
  collection: string;
  command: Record<string, unknown>;
  /** Cards the server received from its cursor. */
  returned: number;
  /** The cursor was read to its end. */
  exhausted: boolean;
}

/** What a word search cost the database, as seen from the test server's own connection. */
export interface SearchWork<T> {
  result: T;
  /** The prefixes whose ranges were read by a find (not counted), in the order sent. */
  ranges: string[];
  /** Cards the database examined for those finds: each is explained again, up to the cards it gave when the server stopped early. */
  cardsExamined: number;
  /** Cards sent back to the server by those finds. */
  cardsReturned: number;
  /** The counts sent (aggregate commands on cards), and the cards they examined (0: counted from the index keys). */
  counts: number;
  countsExamined: number;
  /** Index keys the counts and the finds read. */
  keysExamined: number;
  /** What the counts and the finds asked for (filter or pipeline, and hint), in the order sent. */
  asked: string[];
}

/** Runs `work` (a word search through the API) and measures what it made the database read. */
export async function searchWork<T>(work: () => Promise<T>): Promise<SearchWork<T>> {
  const client = mongoose.connection.getClient();
  const finds = new Map<number, Read>();
  const byCursor = new Map<string, Read>();
  const counts: Record<string, unknown>[] = [];
  const asked: string[] = [];
  const started = (event: { commandName: string; command: Record<string, unknown>; requestId: number }) => {
    const { commandName: name, command } = event;
    if (name === 'find' && command.find === 'cards' && rangeRead(command) !== undefined) {
      finds.set(event.requestId, { collection: 'cards', command, returned: 0, exhausted: false });
      asked.push(JSON.stringify({ find: command.filter, hint: command.hint }));
    }
    if (name === 'getMore' && byCursor.has(String(command.getMore))) finds.set(event.requestId, byCursor.get(String(command.getMore))!);
    if (name === 'aggregate' && command.aggregate === 'cards') {
      counts.push(command);
      asked.push(JSON.stringify({ count: command.pipeline, hint: command.hint }));
    }
  };
  const succeeded = (event: { requestId: number; reply: unknown }) => {
    const read = finds.get(event.requestId);
    if (!read) return;
    const cursor = (event.reply as { cursor?: { id?: unknown; firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    read.returned += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
    const id = String(cursor?.id ?? 0);
    read.exhausted = id === '0';
    if (!read.exhausted) byCursor.set(id, read);
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', succeeded);
  let result: T;
  try {
    result = await work();
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', succeeded);
  }
  const db = mongoose.connection.db!;
  const reads = [...new Set(finds.values())];
  let cardsExamined = 0;
  let keysExamined = 0;
  for (const { command, returned, exhausted } of reads) {
    const { filter, projection, hint } = command;
    const explained = await db.command({
      explain: { find: 'cards', filter, projection, hint, ...(exhausted ? {} : { limit: returned }) },
      verbosity: 'executionStats',
    });
    cardsExamined += examined(explained, 'Docs');
    keysExamined += examined(explained, 'Keys');
  }
  let countsExamined = 0;
  for (const { pipeline, hint } of counts) {
    const explained = await db.command({ explain: { aggregate: 'cards', pipeline, hint, cursor: {} }, verbosity: 'executionStats' });
    countsExamined += examined(explained, 'Docs');
    keysExamined += examined(explained, 'Keys');
  }
  return {
    result,
    ranges: reads.map((read) => rangeRead(read.command)!),
    cardsExamined,
    cardsReturned: reads.reduce((sum, read) => sum + read.returned, 0),
    counts: counts.length,
    countsExamined,
    keysExamined,
    asked,
  };
}
