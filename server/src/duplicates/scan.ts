import { setImmediate as nextTurn } from 'node:timers/promises';
import { breather } from '../jobs/breather';
import mongoose, { Types, type AnyBulkWriteOperation } from 'mongoose';
import type { CardTypeDefinition, CardValues } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import { Card } from '../cards/model';
import { defineJob } from '../jobs/define';
import { Job, type JobDoc } from '../jobs/model';
import { jobView, type JobView } from '../jobs/view';
import { isDuplicateKeyError } from '../validation';
import { claimWholeType, CLIQUE_UP_TO, dropGroups, groupDocs, refreshWithin, scanLimits, storeGroups } from './groups';
import { cardKeys, commonValueLimits, forgetTrigramCounts, nameKey, spread } from './keys';
import {
  DuplicateDismissal,
  DuplicateGroup,
  DuplicateKey,
  DuplicateRefresh,
  DuplicateSettings,
  pairKey,
  type CommonValue,
  type DuplicateRefreshDoc,
  type DuplicateEdge,
  type DuplicateGroupDoc,
  type DuplicateKeyDoc,
} from './model';
import { nameSimilarity, prefixTrigrams, shapeOfNormalized, type NameShape } from './normalize';
import { Spill } from './spill';
import { forgetDuplicateSettings, typesWithRules, type TypeRules } from './rules';

/** Cards read and key documents written per round trip. */
const BATCH = 2000;

/**
 * The stages of a type's scan, in order, each counted on its own (a bar at 100 % means the stage is
 * done, not the scan): `reading` the cards (cards), `indexing` their names under their rarest
 * trigrams (names), `comparing` the cards within each block (blocking records), `grouping` — the
 * pairs into groups, stored in place of the former ones (groups; unknown until the pairs are joined).
 */
export const SCAN_STAGES = ['reading', 'indexing', 'comparing', 'grouping'] as const;
export type ScanStage = (typeof SCAN_STAGES)[number];

interface Progress {
  signal: AbortSignal;
  /** A stage starts: its work counts from 0 of `total` (null: not known yet). */
  stage(name: ScanStage, total: number | null): void;
  /** Work of the stage under way done since the last call; `total` when it has become known. */
  advance(units: number, total?: number): void;
}

type Place = Pick<DuplicateKeyDoc, '_id' | 'folderId' | 'libraryId'>;

/**
 * The longest the scan's in-memory work holds the event loop before it lets requests (and the job's
 * lease) through: at 100,000 cards blocking, pairing and grouping take many seconds, during which
 * the server must go on answering (a starved lease lets the runner start the same scan again).
 */
const TURN_MS = 20;

/** Stored keys that are what the card's values make now: nothing to write. */
const sameKeys = (stored: DuplicateKeyDoc, card: Omit<Place, '_id'>, keys: string[], names: Record<string, string>) =>
  stored.folderId.equals(card.folderId) &&
  stored.libraryId.equals(card.libraryId) &&
  stored.keys.length === keys.length &&
  stored.keys.every((key, at) => key === keys[at]) &&
  JSON.stringify(stored.names) === JSON.stringify(names);

/** A pair found alike (card ids as text until the groups are made). */
interface FoundEdge {
  a: string;
  b: string;
  rule: string;
  score: number;
}

/**
 * Edges within one block of cards sharing a key: every pair of a small block, a star of a large one
 * — each card joined to the first card it is not marked «Не дубликат» with, so that a mark at the
 * first card leaves the others' links (each card passed over is a mark: the cost follows the marks).
 */
function blockEdges(members: string[], rule: string, score: number, dismissed: ReadonlySet<string>, into: FoundEdge[]): void {
  if (members.length <= CLIQUE_UP_TO) {
    for (let i = 0; i < members.length; i += 1) for (let j = i + 1; j < members.length; j += 1) into.push({ a: members[i], b: members[j], rule, score });
    return;
  }
  for (const member of members.slice(1)) {
    const hub = members.find((other) => other !== member && !dismissed.has(pairKey(other, member)));
    if (hub) into.push({ a: hub, b: member, rule, score });
  }
}

/**
 * The pair joining two alike names: their first cards, unless those two were marked «Не дубликат» —
 * then the first pair of their cards that was not (each pair passed over is a mark), so that a mark
 * at a name's first card does not drop the links of its namesakes.
 */
function openPair(xs: readonly string[], ys: readonly string[], dismissed: ReadonlySet<string>): [string, string] | null {
  for (const x of xs) for (const y of ys) if (!dismissed.has(pairKey(x, y))) return [x, y];
  return null;
}

/** Spilled records: a card under one of its exact keys or its normalised name (a block), or a distinct name under one of its prefix trigrams (a posting). */
type BlockRecord = [key: string, id: string];
type PostingRecord = [rule: string, numbers: string, trigram: string, text: string, id: string];
type NameRecord = [rule: string, text: string, numbers: string, trigrams: string[], id: string];

/** A name as blocking compares it: its shape and its prefix trigrams (in the scan's order, and as a set). */
interface PrefixedName {
  shape: NameShape;
  prefix: string[];
  inPrefix: Set<string>;
}

/** The common values a scan lists (the most held first), at most. */
const COMMON_VALUES_LISTED = 100;

/**
 * The pairs of one bucket: every pair of cards sharing an exact key or a name, and every pair of
 * distinct names sharing a prefix trigram whose similarity reaches the threshold — counted at
 * their first common prefix trigram only, so that names sharing several (in other buckets) make one pair.
 * An exact key of more than `commonValueLimits.cards` cards is a common value: it makes no pairs
 * and goes to `common` instead.
 */
async function bucketEdges(
  records: (BlockRecord | PostingRecord)[],
  rules: TypeRules,
  orders: Map<string, (trigram: string) => number>,
  pause: () => Promise<void>,
  dismissed: ReadonlySet<string>,
  into: { edges: FoundEdge[]; common: CommonValue[] },
): Promise<void> {
  const { threshold } = rules;
  const exactRules = new Set(rules.rules.filter((rule) => rule.mode === 'exact').map((rule) => rule.id));
  const blocks = new Map<string, string[]>();
  // Per posting, each distinct name once, with its cards (the smallest id first: records come in the order of ids).
  const postings = new Map<string, { rule: string; trigram: string; names: Map<string, string[]> }>();
  for (const record of records) {
    if (record.length === 2) {
      const [key, id] = record;
      const block = blocks.get(key);
      if (block) block.push(id);
      else blocks.set(key, [id]);
      continue;
    }
    const [rule, numbers, trigram, text, id] = record;
    const key = `${rule}~${numbers}~${trigram}`;
    let posting = postings.get(key);
    if (!posting) postings.set(key, (posting = { rule, trigram, names: new Map() }));
    const cards = posting.names.get(text);
    if (cards) cards.push(id);
    else posting.names.set(text, [id]);
  }
  for (const [key, members] of blocks) {
    // Rule ids hold neither «=» nor «~»: what stands before the first «=» names the rule.
    const rule = key.slice(0, key.indexOf('='));
    if (exactRules.has(rule) && members.length > commonValueLimits.cards) into.common.push({ rule, value: key.slice(rule.length + 1), cards: members.length });
    else if (members.length > 1) blockEdges(members, rule, 1, dismissed, into.edges);
    await pause();
  }
  const prefixed = new Map<string, PrefixedName>();
  const prefixOf = (rule: string, text: string): PrefixedName => {
    const id = `${rule}\n${text}`;
    let known = prefixed.get(id);
    if (!known) {
      const shape = shapeOfNormalized(text);
      const prefix = prefixTrigrams(shape, threshold, orders.get(rule)!);
      prefixed.set(id, (known = { shape, prefix, inPrefix: new Set(prefix) }));
    }
    return known;
  };
  for (const { rule, trigram, names } of postings.values()) {
    if (names.size < 2) continue;
    const list = [...names].map(([text, ids]) => ({ ids, name: prefixOf(rule, text) }));
    for (let i = 0; i < list.length; i += 1) {
      await pause();
      for (let j = i + 1; j < list.length; j += 1) {
        const [x, y] = [list[i], list[j]];
        if (x.name.prefix.find((candidate) => y.name.inPrefix.has(candidate)) !== trigram) continue;
        const score = nameSimilarity(x.name.shape, y.name.shape);
        const pair = score >= threshold ? openPair(x.ids, y.ids, dismissed) : null;
        if (pair) into.edges.push({ a: pair[0], b: pair[1], rule, score });
      }
    }
  }
}

/**
 * Finds all groups of one card type in memory that does not grow with the installation: reads every
 * card once in the order of ids, side by side with its stored keys (writing those that changed,
 * removing those of cards gone), and spills its blocking records to temporary files split into
 * buckets by key (names a second time, under their prefix trigrams, once the trigrams' counts are
 * known); each bucket is then grouped on its own, comparing only within blocks. Memory holds one
 * bucket, the trigram counts and the pairs found (the duplicates, not the cards).
 */
async function scanType(type: CardTypeDefinition, rules: TypeRules, progress: Progress): Promise<{ cards: number; overflow: boolean; buckets: number; spilledBytes: number }> {
  const { signal } = progress;
  const pause = breather(signal, TURN_MS);
  // From now on refreshes list the cards they refresh: the scan's snapshot is older than they are.
  await mongoose.connection.transaction(async (session) => {
    await DuplicateRefresh.updateOne({ _id: type.key }, { $inc: { seq: 1 }, $set: { scanning: true, dirty: [], overflow: false } }, { upsert: true, session });
  });
  const expected = await Card.countDocuments({ typeKey: type.key, inTrash: false });
  progress.stage('reading', expected);
  const spill = await Spill.create('kartoteka-duplicate-scan-', Math.max(1, Math.ceil(expected / scanLimits.cardsPerBucket)));
  try {
    const bucketOf = (key: string) => spread(key) % spill.bucketCount;
    const counts = new Map<string, Map<string, number>>(rules.rules.filter((r) => r.mode === 'similar').map((r) => [r.id, new Map()]));
    let writes: AnyBulkWriteOperation[] = [];
    let gone: Types.ObjectId[] = [];
    const flush = async () => {
      // The driver's own bulk write: the documents are complete as built here (no casting per card).
      if (writes.length > 0) await DuplicateKey.collection.bulkWrite(writes as never, { ordered: false });
      if (gone.length > 0) await DuplicateKey.deleteMany({ _id: { $in: gone } });
      writes = [];
      gone = [];
    };
    const storedKeys = DuplicateKey.find({ typeKey: type.key }, { keys: 1, names: 1, folderId: 1, libraryId: 1 })
      .sort({ _id: 1 })
      .lean<DuplicateKeyDoc[]>()
      .cursor({ batchSize: BATCH });
    let stored = (await storedKeys.next()) as DuplicateKeyDoc | null;
    let read = 0;
    const cursor = Card.find({ typeKey: type.key, inTrash: false }, { values: 1, folderId: 1, libraryId: 1 })
      .sort({ _id: 1 })
      .lean<{ _id: Types.ObjectId; values: CardValues; folderId: Types.ObjectId; libraryId: Types.ObjectId }[]>()
      .cursor({ batchSize: BATCH });
    for await (const card of cursor) {
      read += 1;
      const id = String(card._id);
      // Keys of cards gone to the trash (or deleted) since they were stored.
      while (stored && String(stored._id) < id) {
        gone.push(stored._id);
        stored = (await storedKeys.next()) as DuplicateKeyDoc | null;
      }
      const previous = stored && stored._id.equals(card._id) ? stored : null;
      if (previous) stored = (await storedKeys.next()) as DuplicateKeyDoc | null;
      const { keys, names, exact, similar } = cardKeys(type, rules, card.values);
      if (keys.length > 0 && !(previous && sameKeys(previous, card, keys, names))) {
        const doc = { _id: card._id, typeKey: type.key, folderId: card.folderId, libraryId: card.libraryId, keys, names };
        writes.push(previous ? { replaceOne: { filter: { _id: card._id }, replacement: doc } } : { insertOne: { document: doc } });
      } else if (keys.length === 0 && previous) gone.push(card._id);
      for (const key of exact) await spill.toBucket(bucketOf(key), [key, id] satisfies BlockRecord);
      for (const { rule, shape } of similar) {
        const name = nameKey(rule, shape);
        await spill.toBucket(bucketOf(name), [name, id] satisfies BlockRecord);
        await spill.append([rule.id, shape.text, shape.numbers, [...shape.trigrams], id] satisfies NameRecord);
        const byTrigram = counts.get(rule.id)!;
        for (const trigram of shape.trigrams) byTrigram.set(trigram, (byTrigram.get(trigram) ?? 0) + 1);
      }
      if (writes.length + gone.length >= BATCH) await flush();
      if (read % BATCH === 0) {
        // «Отменить» is heard per batch read, also when a scan finds no key to write.
        signal.throwIfAborted();
        progress.advance(BATCH);
      }
      await pause();
    }
    while (stored) {
      gone.push(stored._id);
      if (gone.length >= BATCH) await flush();
      stored = (await storedKeys.next()) as DuplicateKeyDoc | null;
    }
    await storedKeys.close();
    await flush();
    progress.advance(read % BATCH);

    // The trigrams' order (rarest first), now that every card's are counted; names spilled again under their prefix trigrams.
    const orders = new Map([...counts].map(([rule, byTrigram]) => [rule, (trigram: string) => byTrigram.get(trigram) ?? 0]));
    progress.stage('indexing', spill.streamRecords);
    let indexed = 0;
    for await (const [rule, text, numbers, trigrams, id] of spill.readStream<NameRecord>()) {
      for (const trigram of prefixTrigrams({ text, numbers, trigrams: new Set(trigrams) }, rules.threshold, orders.get(rule)!)) {
        await spill.toBucket(bucketOf(`${rule}~${numbers}~${trigram}`), [rule, numbers, trigram, text, id] satisfies PostingRecord);
      }
      if (++indexed % BATCH === 0) progress.advance(BATCH);
      await pause();
    }
    progress.advance(indexed % BATCH);
    progress.stage('comparing', spill.bucketRecords);
    const found = { edges: [] as FoundEdge[], common: [] as CommonValue[] };
    const dismissed = new Set((await DuplicateDismissal.find({ typeKey: type.key }, { _id: 1 }).lean()).map((doc) => String(doc._id)));
    for (let bucket = 0; bucket < spill.bucketCount; bucket += 1) {
      const records = await spill.readBucket<BlockRecord | PostingRecord>(bucket);
      await bucketEdges(records, rules, orders, pause, dismissed, found);
      progress.advance(records.length);
    }
    progress.stage('grouping', null);
    const commonValues = found.common.sort((x, y) => y.cards - x.cards || (x.value < y.value ? -1 : 1)).slice(0, COMMON_VALUES_LISTED);
    // Trigrams seen once are as rare as unseen ones: only the others are kept for look-ups.
    const trigramCounts = Object.fromEntries([...counts].map(([rule, byTrigram]) => [rule, [...byTrigram].filter(([, count]) => count > 1)]));
    counts.clear();

    const kept: DuplicateEdge[] = found.edges
      .filter((edge) => !dismissed.has(pairKey(edge.a, edge.b)))
      .map((edge) => ({ ...edge, a: new Types.ObjectId(edge.a), b: new Types.ObjectId(edge.b) }));
    // The places of the cards in pairs only (as their keys were just stored).
    const members = [...new Set(kept.flatMap((edge) => [String(edge.a), String(edge.b)]))];
    const placeOf = new Map<string, Place>();
    for (let i = 0; i < members.length; i += BATCH) {
      const ids = members.slice(i, i + BATCH).map((member) => new Types.ObjectId(member));
      for (const place of await DuplicateKey.find({ _id: { $in: ids } }, { folderId: 1, libraryId: 1 }).lean<Place[]>()) placeOf.set(String(place._id), place);
    }
    await pause();
    const groups = groupDocs(type.key, kept, placeOf);
    await pause();
    signal.throwIfAborted();
    const overflow = await replaceGroups(type, rules, groups, progress);
    // More cards changed meanwhile than were listed: the type is not known current until read again.
    const finished = overflow ? {} : { scannedAt: new Date(), scannedRules: rules.fingerprint };
    await DuplicateSettings.updateOne({ _id: type.key }, { $set: { ...finished, trigramCounts, commonValues } }, { upsert: true });
    forgetDuplicateSettings();
    forgetTrigramCounts();
    return { cards: read, overflow, buckets: spill.bucketCount, spilledBytes: spill.bytes };
  } finally {
    await spill.dispose();
  }
}

/**
 * Replaces the type's groups with a scan's, batch by batch (the new ones first, then the former
 * ones), not in one transaction: at 100,000 cards one would outlive the database's transaction
 * time limit. Refreshes meanwhile still list their cards (the scan is under way); they are
 * refreshed again at the end. True when more cards changed meanwhile than were listed.
 */
async function replaceGroups(type: CardTypeDefinition, rules: TypeRules, groups: DuplicateGroupDoc[], progress: Progress): Promise<boolean> {
  const former = (await DuplicateGroup.find({ typeKey: type.key }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((group) => group._id);
  // The stage's work: the new groups stored, the former ones removed.
  progress.advance(0, groups.length + former.length);
  for (let i = 0; i < groups.length; i += BATCH) {
    const batch = groups.slice(i, i + BATCH);
    await storeGroups(batch);
    progress.advance(batch.length);
    // Not cancelled halfway through: the former groups must go once the new ones are in.
    await nextTurn();
  }
  for (let i = 0; i < former.length; i += BATCH) {
    const batch = former.slice(i, i + BATCH);
    await dropGroups(batch);
    progress.advance(batch.length);
  }
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
  return overflow;
}

/** Reads of one type at most, when each finds that more cards changed meanwhile than it could list. */
const SCAN_ROUNDS = 3;

/** Per type: the cards read (how many groups each viewer has is theirs to ask: they see only what they may read). */
export interface ScanResult {
  /** `buckets`: how many parts the scan's blocking records were split into on disk (each grouped in memory on its own); `spilledBytes`: their size there. */
  types: { typeKey: string; cards: number; rounds: number; seconds: number; buckets: number; spilledBytes: number }[];
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
    for (const rules of pending) {
      const type = await findCardType(rules.typeKey);
      if (!type) continue;
      const started = Date.now();
      let counted: Awaited<ReturnType<typeof scanType>>;
      let rounds = 0;
      // Each stage of each type counts its own work; the note says which type.
      let stageDone = 0;
      let stageTotal: number | null = null;
      do {
        rounds += 1;
        counted = await scanType(type, rules, {
          signal: ctx.signal,
          stage: (name, total) => {
            [stageDone, stageTotal] = [0, total];
            ctx.stage?.(name, total);
            ctx.progress(0, total, type.names.ru);
          },
          advance: (units, total) => {
            stageDone += units;
            if (total !== undefined) stageTotal = total;
            ctx.progress(stageDone, stageTotal);
          },
        });
        if (counted.overflow) ctx.logger.warn({ typeKey: type.key, round: rounds }, 'more cards changed during the duplicate scan than it lists: reading the type again');
      } while (counted.overflow && rounds < SCAN_ROUNDS);
      done.push({ typeKey: type.key, cards: counted.cards, rounds, seconds: (Date.now() - started) / 1000, buckets: counted.buckets, spilledBytes: counted.spilledBytes });
      await ctx.checkpoint({ done });
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
