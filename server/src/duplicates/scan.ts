import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import mongoose, { Types, type AnyBulkWriteOperation } from 'mongoose';
import type { CardTypeDefinition, CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card } from '../cards/model';
import { defineJob } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { jobView, type JobView } from '../jobs/view';
import { isDuplicateKeyError } from '../validation';
import { claimWholeType, CLIQUE_UP_TO, dropGroups, groupDocs, refreshWithin, storeGroups } from './groups';
import { cardKeys, forgetTrigramCounts } from './keys';
import {
  DuplicateDismissal,
  DuplicateGroup,
  DuplicateKey,
  DuplicateRefresh,
  DuplicateSettings,
  pairKey,
  type DuplicateRefreshDoc,
  type DuplicateEdge,
  type DuplicateKeyDoc,
} from './model';
import { nameShape, nameSimilarity, prefixTrigrams, type NameShape } from './normalize';
import { forgetDuplicateSettings, typesWithRules, type TypeRules } from './rules';

/** Cards read and key documents written per round trip. */
const BATCH = 2000;

interface Progress {
  signal: AbortSignal;
  /** Cards read so far across all types. */
  advance(cards: number): void;
}

type Place = Pick<DuplicateKeyDoc, '_id' | 'folderId' | 'libraryId'>;

/** The longest the scan's in-memory work holds the event loop before it lets requests (and the job's lease) through. */
const TURN_MS = 20;

/**
 * A pause the scan's long in-memory loops take every TURN_MS: at 100,000 cards blocking, pairing
 * and grouping take many seconds, during which the server must go on answering (and renewing the
 * job's lease: a starved lease lets the runner start the same scan again). Cancelling is seen there too.
 */
function breather(signal: AbortSignal): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < TURN_MS) return;
    await nextTurn();
    signal.throwIfAborted();
    since = performance.now();
  };
}

const signature = (place: Omit<Place, '_id'>, keys: string[], names: Record<string, string>) =>
  createHash('sha1')
    .update(`${String(place.folderId)}/${String(place.libraryId)}\n${keys.join('\n')}\n${JSON.stringify(names)}`)
    .digest('base64');

/** Edges within one block of cards sharing a key: every pair of a small block, a star of a large one. */
function blockEdges(members: number[], ids: Types.ObjectId[], rule: string, score: number, into: DuplicateEdge[]): void {
  if (members.length <= CLIQUE_UP_TO) {
    for (let i = 0; i < members.length; i += 1) for (let j = i + 1; j < members.length; j += 1) into.push({ a: ids[members[i]], b: ids[members[j]], rule, score });
    return;
  }
  for (let i = 1; i < members.length; i += 1) into.push({ a: ids[members[0]], b: ids[members[i]], rule, score });
}

interface DistinctName {
  shape: NameShape;
  members: number[];
}

/**
 * Pairs of distinct names whose similarity reaches the threshold, found by prefix filtering (the
 * rarest trigrams of each name, within names of the same numbers), never by comparing all pairs.
 */
async function similarNamePairs(names: DistinctName[], threshold: number, frequency: (trigram: string) => number, pause: () => Promise<void>): Promise<[number, number, number][]> {
  const postings = new Map<string, number[]>();
  for (const [index, name] of names.entries()) {
    await pause();
    for (const trigram of prefixTrigrams(name.shape, threshold, frequency)) {
      const key = `${name.shape.numbers}~${trigram}`;
      const list = postings.get(key);
      if (list) list.push(index);
      else postings.set(key, [index]);
    }
  }
  const seen = new Set<number>();
  const pairs: [number, number, number][] = [];
  for (const list of postings.values()) {
    for (let i = 0; i < list.length; i += 1) {
      await pause();
      for (let j = i + 1; j < list.length; j += 1) {
        const pair = list[i] * names.length + list[j];
        if (seen.has(pair)) continue;
        seen.add(pair);
        const score = nameSimilarity(names[list[i]].shape, names[list[j]].shape);
        if (score >= threshold) pairs.push([list[i], list[j], score]);
      }
    }
  }
  return pairs;
}

/**
 * Finds all groups of one card type: reads every card once (storing the keys that changed), blocks
 * them by their keys in memory, compares only within blocks, and replaces the type's groups.
 */
async function scanType(type: CardTypeDefinition, rules: TypeRules, progress: Progress): Promise<{ cards: number; overflow: boolean }> {
  const { signal } = progress;
  const pause = breather(signal);
  // From now on refreshes list the cards they refresh: the scan's snapshot is older than they are.
  await mongoose.connection.transaction(async (session) => {
    await DuplicateRefresh.updateOne({ _id: type.key }, { $inc: { seq: 1 }, $set: { scanning: true, dirty: [], overflow: false } }, { upsert: true, session });
  });
  const stored = new Map<string, string>();
  for await (const doc of DuplicateKey.find({ typeKey: type.key }, { keys: 1, names: 1, folderId: 1, libraryId: 1 }).lean<DuplicateKeyDoc[]>().cursor({ batchSize: BATCH })) {
    stored.set(String(doc._id), signature(doc, doc.keys, doc.names));
  }
  const ids: Types.ObjectId[] = [];
  const places: Omit<Place, '_id'>[] = [];
  const exactBlocks = new Map<string, number[]>();
  const exactRules = new Set(rules.rules.filter((r) => r.mode === 'exact').map((r) => r.id));
  const distinct = new Map<string, Map<string, DistinctName>>(rules.rules.filter((r) => r.mode === 'similar').map((r) => [r.id, new Map()]));
  let writes: AnyBulkWriteOperation[] = [];
  const flush = async () => {
    if (writes.length > 0) await DuplicateKey.bulkWrite(writes, { ordered: false });
    writes = [];
  };
  const cursor = Card.find({ typeKey: type.key, inTrash: false }, { values: 1, folderId: 1, libraryId: 1 })
    .lean<{ _id: Types.ObjectId; values: CardValues; folderId: Types.ObjectId; libraryId: Types.ObjectId }[]>()
    .cursor({ batchSize: BATCH });
  for await (const card of cursor) {
    const index = ids.length;
    ids.push(card._id);
    places.push({ folderId: card.folderId, libraryId: card.libraryId });
    const { keys, names } = cardKeys(type, rules, card.values);
    const id = String(card._id);
    const previous = stored.get(id);
    stored.delete(id);
    if (keys.length > 0 && previous !== signature(card, keys, names)) {
      const doc = { _id: card._id, typeKey: type.key, folderId: card.folderId, libraryId: card.libraryId, keys, names };
      writes.push(previous === undefined ? { insertOne: { document: doc } } : { replaceOne: { filter: { _id: card._id }, replacement: doc } });
    } else if (keys.length === 0 && previous !== undefined) writes.push({ deleteOne: { filter: { _id: card._id } } });
    for (const key of keys) {
      // Rule ids hold neither «=» nor «~»: what stands before the first of them names the rule.
      if (!exactRules.has(key.slice(0, key.search(/[=~]/)))) continue;
      const block = exactBlocks.get(key);
      if (block) block.push(index);
      else exactBlocks.set(key, [index]);
    }
    for (const [rule, text] of Object.entries(names)) {
      const byText = distinct.get(rule)!;
      const shape = nameShape(text);
      const textKey = `${shape.numbers}~${shape.text}`;
      const known = byText.get(textKey);
      if (known) known.members.push(index);
      else byText.set(textKey, { shape, members: [index] });
    }
    if (writes.length >= BATCH) await flush();
    if (ids.length % BATCH === 0) {
      // «Отменить» is heard per batch read, also when a scan finds no key to write.
      signal.throwIfAborted();
      progress.advance(BATCH);
    }
    await pause();
  }
  await flush();
  progress.advance(ids.length % BATCH);
  // Cards gone to the trash (or deleted) since the keys were stored.
  const gone = [...stored.keys()].map((id) => new Types.ObjectId(id));
  for (let i = 0; i < gone.length; i += BATCH) await DuplicateKey.deleteMany({ _id: { $in: gone.slice(i, i + BATCH) } });

  const edges: DuplicateEdge[] = [];
  for (const [key, members] of exactBlocks) {
    if (members.length > 1) blockEdges(members, ids, key.slice(0, key.indexOf('=')), 1, edges);
    await pause();
  }
  const trigramCounts: Record<string, [string, number][]> = {};
  for (const [rule, byText] of distinct) {
    const names = [...byText.values()];
    const counts = new Map<string, number>();
    for (const name of names) {
      if (name.members.length > 1) blockEdges(name.members, ids, rule, 1, edges);
      for (const trigram of name.shape.trigrams) counts.set(trigram, (counts.get(trigram) ?? 0) + name.members.length);
      await pause();
    }
    for (const [i, j, score] of await similarNamePairs(names, rules.threshold, (trigram) => counts.get(trigram) ?? 0, pause)) {
      edges.push({ a: ids[names[i].members[0]], b: ids[names[j].members[0]], rule, score });
    }
    // Trigrams seen once are as rare as unseen ones: only the others are kept for look-ups.
    trigramCounts[rule] = [...counts].filter(([, count]) => count > 1);
  }
  const dismissed = new Set((await DuplicateDismissal.find({ typeKey: type.key }, { _id: 1 }).lean()).map((doc) => String(doc._id)));
  const kept = edges.filter((edge) => !dismissed.has(pairKey(edge.a, edge.b)));
  const placeOf = new Map<string, Place>();
  ids.forEach((id, index) => placeOf.set(String(id), { _id: id, ...places[index] }));
  await pause();
  const groups = groupDocs(type.key, kept, placeOf);
  await pause();
  signal.throwIfAborted();
  // The type's groups are replaced batch by batch (the new ones first, then the former ones), not in
  // one transaction: at 100,000 cards one would outlive the database's transaction time limit.
  // Refreshes meanwhile still list their cards (the scan is under way), refreshed again below.
  const former = (await DuplicateGroup.find({ typeKey: type.key }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((group) => group._id);
  for (let i = 0; i < groups.length; i += BATCH) {
    await storeGroups(groups.slice(i, i + BATCH));
    // Not cancelled halfway through: the former groups must go once the new ones are in.
    await nextTurn();
  }
  for (let i = 0; i < former.length; i += BATCH) await dropGroups(former.slice(i, i + BATCH));
  let overflow = false;
  await mongoose.connection.transaction(async (session) => {
    // Refreshes still under way meet a write conflict and are retried on the groups stored here.
    await claimWholeType(type.key, session);
    const claimed = await DuplicateRefresh.findOneAndUpdate(
      { _id: type.key },
      { $inc: { seq: 1 }, $set: { scanning: false, dirty: [], overflow: false } },
      { upsert: true, returnDocument: 'before', session },
    ).lean<DuplicateRefreshDoc>();
    overflow = Boolean(claimed?.overflow);
    // Cards changed while the scan read: refreshed again as they are now, on top of the snapshot.
    const dirty = claimed?.dirty ?? [];
    for (let i = 0; i < dirty.length; i += BATCH) await refreshWithin(type, rules, dirty.slice(i, i + BATCH), session);
  });
  // More cards changed meanwhile than were listed: the type is not known current until read again.
  const finished = overflow ? {} : { scannedAt: new Date(), scannedRules: rules.fingerprint };
  await DuplicateSettings.updateOne({ _id: type.key }, { $set: { ...finished, trigramCounts } }, { upsert: true });
  forgetDuplicateSettings();
  forgetTrigramCounts();
  return { cards: ids.length, overflow };
}

/** Reads of one type at most, when each finds that more cards changed meanwhile than it could list. */
const SCAN_ROUNDS = 3;

/** Per type: the cards read (how many groups each viewer has is theirs to ask: they see only what they may read). */
export interface ScanResult {
  types: { typeKey: string; cards: number; rounds: number; seconds: number }[];
}

/**
 * «Обновить»: finds all groups of probable duplicates, type by type, as a background job with
 * progress; a cancelled or interrupted scan keeps the types it finished.
 */
export const duplicateScanJob = defineJob<{ typeKeys?: string[] | null }, ScanResult, { done: ScanResult['types'] }>({
  type: 'duplicate-scan',
  async run(ctx) {
    const wanted = ctx.params.typeKeys ? new Set(ctx.params.typeKeys) : null;
    const all = (await typesWithRules()).filter((rules) => !wanted || wanted.has(rules.typeKey));
    const done = [...(ctx.resumeFrom?.done ?? [])];
    const pending = all.filter((rules) => !done.some((d) => d.typeKey === rules.typeKey));
    const total = (await Promise.all(pending.map((rules) => Card.countDocuments({ typeKey: rules.typeKey, inTrash: false })))).reduce((a, b) => a + b, 0);
    let read = 0;
    let more = 0;
    for (const rules of pending) {
      const type = await findCardType(rules.typeKey);
      if (!type) continue;
      const started = Date.now();
      let counted: Awaited<ReturnType<typeof scanType>>;
      let rounds = 0;
      do {
        rounds += 1;
        ctx.progress(read, total + more, type.names.ru);
        counted = await scanType(type, rules, {
          signal: ctx.signal,
          advance: (cards) => {
            read += cards;
            ctx.progress(read, total + more, type.names.ru);
          },
        });
        if (counted.overflow) {
          ctx.logger.warn({ typeKey: type.key, round: rounds }, 'more cards changed during the duplicate scan than it lists: reading the type again');
          more += counted.cards;
        }
      } while (counted.overflow && rounds < SCAN_ROUNDS);
      done.push({ typeKey: type.key, cards: counted.cards, rounds, seconds: (Date.now() - started) / 1000 });
      await ctx.checkpoint({ done }, read);
    }
    return { types: done };
  },
});

/** One scan at a time, whoever asks: the job's active key. */
const ONE_SCAN = { activeKey: duplicateScanJob.type };

/**
 * The scan queued or running now, or a new one (owned by whoever asked): however many ask at once,
 * one scan runs (the job's active key admits one unfinished scan), the others get it.
 */
export async function requestScan(ownerId: string | null, typeKeys?: string[]): Promise<JobView> {
  for (;;) {
    try {
      return await duplicateScanJob.enqueue(ownerId, { typeKeys: typeKeys ?? null }, ONE_SCAN);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    // Another scan holds the key; if it finished meanwhile, the key is free again: try again.
    const active = await Job.findOne({ activeKey: ONE_SCAN.activeKey }).lean<JobDoc>();
    if (active) return jobView(active);
  }
}

/** The latest scan job (to show its progress or result), if any. */
export async function latestScan(): Promise<JobDoc | null> {
  return Job.findOne({ type: duplicateScanJob.type }).sort({ createdAt: -1 }).lean<JobDoc>();
}
