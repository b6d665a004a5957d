import mongoose, { Types, type ClientSession } from 'mongoose';
import { accessibleBy } from '@casl/mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { normaliseForSearch, searchWordsOf, type CardTypeDefinition, type CardValues } from '../../../card-types';
import { checksEachCard } from '../cards/permitted';
import { FieldErrors, objectIdArgument, refuseField, searchText } from '../validation';
import { searchByWords, queryPrefixes } from '../cards/search';
import { Card } from '../cards/model';
import { cardKeys, claimKeys, commonKeysAmong, commonValueLimits, keyHolders, likeness, lookupKeys, spread, storeKeysOfCards, type KeyedCard, type KnownHolders } from './keys';
import {
  CLAIM_BUCKETS,
  DuplicateClaim,
  DuplicateDismissal,
  DuplicateGroup,
  DuplicateKey,
  DuplicateRank,
  DuplicateRefresh,
  pairKey,
  type DuplicateRankDoc,
  type DuplicateRefreshDoc,
  type DuplicateEdge,
  type DuplicateGroupDoc,
  type DuplicateKeyDoc,
} from './model';
import type { TypeRules } from './rules';

/** Candidates looked at for one card; a name shared by more cards than this is not a sign of duplicates. */
const MAX_CANDIDATES = 1000;
/** Blocks of more cards sharing one value are joined as a star (each to one of them), not pair by pair. */
export const CLIQUE_UP_TO = 50;

/**
 * The most cards, and pairs, one group holds. A group is a union of pairs, and a chain of names
 * each alike to the next (or of cards each sharing a phone with one and an e-mail with another)
 * could join tens of thousands, and a thousand distinct names alike to each other make half a
 * million pairs: one document holding them would pass MongoDB's 16 MB, and every save of one of its
 * cards would read and rewrite it. Pairs are joined best first; a pair that would make a group
 * larger is left out (its two cards stay in their own groups) — no one resolves a group of a
 * thousand by hand anyway, and a merge takes 21 cards —; of a group's pairs beyond those joining
 * it, the best are kept up to `pairs`.
 */
export const groupLimits = { cards: 1000, pairs: 10_000 };

/** Union-find over card ids: connected components of the edges, each at most `maxSize` ids. */
export class Components {
  private readonly parent = new Map<string, string>();
  private readonly size = new Map<string, number>();

  constructor(private readonly maxSize = Infinity) {}

  find(id: string): string {
    let root = id;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    // Path compression: every id on the way points at the root.
    let node = id;
    while (node !== root) {
      const next = this.parent.get(node) ?? root;
      this.parent.set(node, root);
      node = next;
    }
    if (!this.parent.has(root)) {
      this.parent.set(root, root);
      this.size.set(root, 1);
    }
    return root;
  }

  /** Joins the components of a and b unless the joined one would exceed `maxSize`; whether a and b are now in one. */
  union(a: string, b: string): boolean {
    const [x, y] = [this.find(a), this.find(b)];
    if (x === y) return true;
    const joined = this.size.get(x)! + this.size.get(y)!;
    if (joined > this.maxSize) return false;
    this.parent.set(y, x);
    this.size.set(x, joined);
    this.size.delete(y);
    return true;
  }

  /** Components of two or more ids. */
  groups(): string[][] {
    const byRoot = new Map<string, string[]>();
    for (const id of this.parent.keys()) {
      const root = this.find(id);
      const members = byRoot.get(root);
      if (members) members.push(id);
      else byRoot.set(root, [id]);
    }
    return [...byRoot.values()].filter((members) => members.length > 1);
  }

  /**
   * The components the edges join, each with its members and the edges inside it, the edges taken
   * in the order given: at most `limits.cards` ids a component (an edge that would join two beyond
   * it is left out) and `limits.pairs` edges (those joining it are all kept, then the first others).
   */
  static of<E extends { a: unknown; b: unknown }>(edges: readonly E[], limits = { cards: Infinity, pairs: Infinity }): { members: string[]; edges: E[] }[] {
    const components = new Components(limits.cards);
    const joining = new Set<E>();
    const inside = edges.filter((edge) => {
      const [a, b] = [String(edge.a), String(edge.b)];
      if (components.find(a) !== components.find(b)) joining.add(edge);
      return components.union(a, b);
    });
    const byRoot = new Map(components.groups().map((members) => [components.find(members[0]), { members, edges: [] as E[], others: 0 }]));
    for (const edge of inside) {
      const component = byRoot.get(components.find(String(edge.a)));
      if (!component) continue;
      if (joining.has(edge)) component.edges.push(edge);
      else if (component.others < limits.pairs - (component.members.length - 1)) {
        component.others += 1;
        component.edges.push(edge);
      }
    }
    return [...byRoot.values()].map(({ members, edges: kept }) => ({ members, edges: kept }));
  }
}

/** The best score of some pairs (a loop: a spread of a large group's pairs would overflow the call stack). */
export const bestScore = (edges: readonly { score: number }[]): number => edges.reduce((best, edge) => Math.max(best, edge.score), 0);

type Place = Pick<DuplicateKeyDoc, '_id' | 'folderId' | 'libraryId'>;

/** Group documents from edges: one per connected component, members in their places (cards without a place are left out). */
export function groupDocs(typeKey: string, edges: DuplicateEdge[], places: Map<string, Place>, now = new Date()): DuplicateGroupDoc[] {
  const placed = edges.filter((edge) => places.has(String(edge.a)) && places.has(String(edge.b))).sort((x, y) => y.score - x.score);
  return Components.of(placed, groupLimits).map(({ members, edges: groupEdges }) => {
    const memberPlaces = members.map((id) => places.get(id)!);
    return {
      _id: new Types.ObjectId(),
      typeKey,
      cardIds: memberPlaces.map((place) => place._id),
      folderId: memberPlaces.map((place) => place.folderId),
      libraryId: memberPlaces.map((place) => place.libraryId),
      edges: groupEdges,
      score: bestScore(groupEdges),
      updatedAt: now,
    };
  });
}

/** Edges minus the pairs someone marked «Не дубликат». */
async function withoutDismissed(edges: DuplicateEdge[], session?: ClientSession): Promise<DuplicateEdge[]> {
  if (edges.length === 0) return edges;
  const pairs = [...new Set(edges.map((edge) => pairKey(edge.a, edge.b)))];
  const dismissed = new Set((await DuplicateDismissal.find({ _id: { $in: pairs } }, { _id: 1 }, { session }).lean()).map((doc) => String(doc._id)));
  return edges.filter((edge) => !dismissed.has(pairKey(edge.a, edge.b)));
}

/** Stored cards alike to these values (not `exclude`), each with its likeness; `scope` narrows where to look. */
export async function alikeCards(
  type: CardTypeDefinition,
  rules: TypeRules,
  values: CardValues,
  options: { exclude?: Types.ObjectId; session?: ClientSession; find?: (filter: Record<string, unknown>) => Promise<DuplicateKeyDoc[]> } = {},
): Promise<{ doc: DuplicateKeyDoc; score: number; rules: { id: string; score: number }[] }[]> {
  // Counted among all cards of the type, whoever asks: a common value is no sign of duplicates for anyone.
  const common = await commonKeysAmong(type.key, cardKeys(type, rules, values).exact, options.session);
  const keys = await lookupKeys(type, rules, values, common);
  if (keys.length === 0) return [];
  // The card itself is skipped here rather than by `_id: { $ne }` in the query, which a planner may
  // answer from the _id index, reading every key document of the collection.
  const filter: Record<string, unknown> = { keys: { $in: keys }, typeKey: type.key };
  const candidates = options.find
    ? await options.find(filter)
    : await DuplicateKey.find(filter, null, { session: options.session }).limit(MAX_CANDIDATES).lean<DuplicateKeyDoc[]>();
  return alikeAmong(type, rules, values, candidates, common, options.exclude);
}

type Alike = Awaited<ReturnType<typeof alikeCards>>[number];

/** The candidates alike to these values (not `exclude`; `common` values join none), best first. */
function alikeAmong(
  type: CardTypeDefinition,
  rules: TypeRules,
  values: CardValues,
  candidates: Iterable<DuplicateKeyDoc>,
  common: ReadonlySet<string>,
  exclude?: Types.ObjectId,
): Alike[] {
  const found: Alike[] = [];
  for (const doc of candidates) {
    if (exclude?.equals(doc._id)) continue;
    const alike = likeness(type, rules, values, doc, common);
    if (alike) found.push({ doc, ...alike });
  }
  return found.sort((x, y) => y.score - x.score);
}

/** Lookup keys asked in one query at most (a long `$in` is read key by key; thousands of them are still one request). */
const KEYS_PER_QUERY = 2000;

/**
 * Cards alike to each of many (a batch of an import): their lookup keys are asked in a few queries
 * rather than one per card; each card then compares with at most MAX_CANDIDATES of the key
 * documents that share a key with it, as `alikeCards` does.
 */
async function alikeCardsOfMany(
  type: CardTypeDefinition,
  rules: TypeRules,
  cards: { id: Types.ObjectId; values: CardValues }[],
  common: ReadonlySet<string>,
  session: ClientSession,
  known: KnownHolders | null,
): Promise<Map<Types.ObjectId, Alike[]>> {
  const lookups = new Map<Types.ObjectId, string[]>();
  for (const card of cards) lookups.set(card.id, await lookupKeys(type, rules, card.values, common));
  const wanted = new Set([...lookups.values()].flat());
  const byKey = new Map<string, DuplicateKeyDoc[]>();
  const fetched = new Set<string>();
  const take = (docs: DuplicateKeyDoc[]) => {
    for (const doc of docs) {
      if (fetched.has(String(doc._id))) continue;
      fetched.add(String(doc._id));
      for (const key of doc.keys) {
        if (!wanted.has(key)) continue;
        const holders = byKey.get(key);
        if (holders) holders.push(doc);
        else byKey.set(key, [doc]);
      }
    }
  };
  // The exact keys' holders were read already (counting them): only the other keys are asked.
  if (known) take(known.docs.filter((doc) => doc.keys.some((key) => known.keys.has(key) && wanted.has(key))));
  const asking = [...wanted].filter((key) => !known?.keys.has(key));
  for (let start = 0; start < asking.length; start += KEYS_PER_QUERY) {
    take(
      await DuplicateKey.find({ keys: { $in: asking.slice(start, start + KEYS_PER_QUERY) }, typeKey: type.key }, null, { session })
        .limit(MAX_CANDIDATES * cards.length)
        .lean<DuplicateKeyDoc[]>(),
    );
  }
  const found = new Map<Types.ObjectId, Alike[]>();
  for (const card of cards) {
    const candidates = new Map<string, DuplicateKeyDoc>();
    for (const key of lookups.get(card.id) ?? []) {
      for (const doc of byKey.get(key) ?? []) {
        if (candidates.size >= MAX_CANDIDATES) break;
        candidates.set(String(doc._id), doc);
      }
    }
    found.set(card.id, alikeAmong(type, rules, card.values, candidates.values(), common, card.id));
  }
  return found;
}

/**
 * A card's edges to the cards alike to it, bounded as a scan bounds them: the cards that share one
 * value with it (the same normalised name, the same INN) are each joined to it while there are
 * fewer than CLIQUE_UP_TO of them; beyond that only the first of them (the smallest id) is, which
 * keeps the block one group without a pair for every two of its cards.
 */
function boundedEdges(id: Types.ObjectId, alike: Alike[]): DuplicateEdge[] {
  const blocks = new Map<string, { doc: DuplicateKeyDoc; rule: string; score: number }[]>();
  for (const other of alike) {
    for (const rule of other.rules) {
      // A similar name that is not the same: its own block (the cards holding that very name).
      const block = `${rule.id}\n${rule.score === 1 ? '' : (other.doc.names[rule.id] ?? String(other.doc._id))}`;
      const members = blocks.get(block);
      const entry = { doc: other.doc, rule: rule.id, score: rule.score };
      if (members) members.push(entry);
      else blocks.set(block, [entry]);
    }
  }
  const edges: DuplicateEdge[] = [];
  for (const members of blocks.values()) {
    const joined = members.length < CLIQUE_UP_TO ? members : [members.reduce((first, next) => (String(next.doc._id) < String(first.doc._id) ? next : first))];
    for (const member of joined) edges.push({ a: id, b: member.doc._id, rule: member.rule, score: member.score });
  }
  return edges;
}

/**
 * `dirty`: cards refreshed while a scan runs that it re-reads at its end; past this many, it reads
 * the whole type again instead. `cardsPerBucket`: a scan splits its blocking records into a bucket
 * per this many cards of the type, each grouped in memory on its own (the rest waits on disk).
 */
export const scanLimits = { dirty: 10_000, cardsPerBucket: 20_000 };

/** Lists the cards for the running scan of the type (or, past `scanLimits.dirty`, asks it to read the type again). */
async function noteForScan(typeKey: string, cardIds: Types.ObjectId[], session: ClientSession): Promise<void> {
  const room = { _id: typeKey, [`dirty.${Math.max(0, scanLimits.dirty - cardIds.length)}`]: { $exists: false } };
  const listed = await DuplicateRefresh.updateOne(room, { $addToSet: { dirty: { $each: cardIds } } }, { session });
  if (listed.matchedCount === 0) await DuplicateRefresh.updateOne({ _id: typeKey }, { $set: { overflow: true } }, { session });
}

/**
 * Buckets one claim statement names. The claims of an import batch (~2,300 buckets) as one statement
 * held the built-in database 50–160 ms, a colleague's page waiting behind it; it answers other
 * clients between the statements of a write.
 */
const BUCKETS_PER_STATEMENT = 200;

/**
 * Writes the claims of these keys (their buckets), so that refreshes touching the same keys run one
 * after another. The buckets stored already — all of them once a type has been refreshed a while —
 * are written by one command (statements of `BUCKETS_PER_STATEMENT`); only new ones are upserted one by one. A batch of an import claims
 * about half of the type's buckets: as one upsert statement each, that was ~2,300 statements of
 * every 500 rows, the most numerous write of an import.
 */
async function claim(typeKey: string, keys: string[], session: ClientSession): Promise<void> {
  const ids = [...new Set(keys.map((key) => `${typeKey}/${spread(key) % CLAIM_BUCKETS}`))];
  if (ids.length === 0) return;
  const statements = [];
  for (let start = 0; start < ids.length; start += BUCKETS_PER_STATEMENT)
    statements.push({ updateMany: { filter: { _id: { $in: ids.slice(start, start + BUCKETS_PER_STATEMENT) } }, update: { $inc: { seq: 1 } } } });
  const claimed = await DuplicateClaim.bulkWrite(statements, { session, ordered: false });
  if (claimed.matchedCount === ids.length) return;
  const stored = new Set((await DuplicateClaim.find({ _id: { $in: ids } }, { _id: 1 }, { session }).lean<{ _id: string }[]>()).map((bucket) => bucket._id));
  const added = ids.filter((id) => !stored.has(id));
  await DuplicateClaim.bulkWrite(
    added.map((_id) => ({ updateOne: { filter: { _id }, update: { $inc: { seq: 1 } }, upsert: true } })),
    { session, ordered: false },
  );
}

/** Every claim of a type (a scan's end, which replaces all its groups). */
export async function claimWholeType(typeKey: string, session: ClientSession): Promise<void> {
  await claim(
    typeKey,
    Array.from({ length: CLAIM_BUCKETS }, (_, bucket) => String(bucket)),
    session,
  );
}

/**
 * Brings the stored groups up to date after these cards changed (values, place, trash, a «Не
 * дубликат»): in one transaction that claims the cards' blocking keys (so that concurrent
 * refreshes of cards that may be alike run one after another and join into one group, while
 * unrelated ones run side by side), the cards are read as they are now, their keys stored again,
 * their edges found again, and the groups they and their new neighbours belong to joined or split
 * accordingly. Costs what the cards touch, never a scan.
 */
export async function refreshGroupsAround(type: CardTypeDefinition, rules: TypeRules | null, cardIds: Types.ObjectId[], saved: KeyedCard[] = []): Promise<void> {
  if (cardIds.length === 0) return;
  await mongoose.connection.transaction(async (session) => {
    const state = await DuplicateRefresh.findById(type.key, { scanning: 1 }, { session }).lean<Pick<DuplicateRefreshDoc, 'scanning'>>();
    if (state?.scanning) await noteForScan(type.key, cardIds, session);
    // Stored again only while a scan runs: it may have written the keys of an older version meanwhile.
    await refreshWithin(type, rules, cardIds, session, { storeKeys: Boolean(state?.scanning), saved });
  });
}

/**
 * The common values among these exact keys (`commonValueLimits`), and the cards holding those that
 * have only just become common (held by at most twice the limit): the pairs those cards formed by
 * such a value while it was not common yet are to be undone. `holders`: the key documents holding
 * the keys read (not those known to be held by many), when all were read (the look-up of alike
 * cards then does not read them again).
 */
async function commonValuesAmong(
  typeKey: string,
  keys: string[],
  session: ClientSession,
): Promise<{ common: Set<string>; earlierHolders: Types.ObjectId[]; holders: KnownHolders | null }> {
  const limit = commonValueLimits.cards;
  const { counts, holders } = await keyHolders<DuplicateKeyDoc>(typeKey, keys, 2 * limit + 1, null, session);
  const common = new Set([...counts].filter(([, count]) => count > limit).map(([key]) => key));
  const recent = [...counts].filter(([, count]) => count > limit && count <= 2 * limit).map(([key]) => key);
  const earlier = recent.length > 0 ? await DuplicateKey.find({ keys: { $in: recent }, typeKey }, { _id: 1 }, { session }).lean<{ _id: Types.ObjectId }[]>() : [];
  return { common, earlierHolders: earlier.map((holder) => holder._id), holders };
}

/**
 * The refresh itself, inside a transaction: claims the cards' keys, then finds their groups again.
 * `saved`: the cards as their saves wrote them; one still at that version is taken as it was saved
 * (its keys, computed for the save, are not computed again). When a card's value has just become a
 * common one, the cards holding it are refreshed with it (`widened`: they are already).
 */
export async function refreshWithin(
  type: CardTypeDefinition,
  rules: TypeRules | null,
  cardIds: Types.ObjectId[],
  session: ClientSession,
  options: { storeKeys: boolean; saved?: KeyedCard[]; widened?: boolean; neighbours?: boolean } = { storeKeys: true },
): Promise<void> {
  const saved = new Map((options.saved ?? []).map((card) => [String(card._id), card]));
  const cards = (await Card.find({ _id: { $in: cardIds } }, { typeKey: 1, folderId: 1, libraryId: 1, inTrash: 1, values: 1, version: 1 }, { session }).lean<KeyedCard[]>()).map(
    (card) => {
      const known = saved.get(String(card._id));
      return known && known.version === card.version ? { ...card, values: known.values } : card;
    },
  );
  const changed = new Set(cardIds.map(String));
  // A card that left (the trash, a merge) may have held its group together: a scan stores only some
  // of the pairs of cards alike to each other (a name's pairs through one card of that name), so its
  // partners are compared again with the others rather than left apart (a namesake left out of a
  // merge stays alike to the survivor).
  const left = cardIds.filter((id) => !cards.some((card) => card._id.equals(id) && !card.inTrash && card.typeKey === type.key));
  if (left.length > 0 && !options.neighbours) {
    const around = await DuplicateGroup.find({ cardIds: { $in: left } }, { edges: 1 }, { session }).lean<Pick<DuplicateGroupDoc, 'edges'>[]>();
    const leftIds = new Set(left.map(String));
    const partners = around
      .flatMap((group) => group.edges)
      .flatMap((edge) => (leftIds.has(String(edge.a)) ? [edge.b] : leftIds.has(String(edge.b)) ? [edge.a] : []))
      .filter((id) => !changed.has(String(id)));
    if (partners.length > 0) return refreshWithin(type, rules, [...cardIds, ...distinctIds(partners)], session, { ...options, neighbours: true });
  }
  const found: DuplicateEdge[] = [];
  if (options.storeKeys)
    await storeKeysOfCards(
      cards.filter((card) => card.typeKey === type.key).map((card) => ({ type, rules, card })),
      session,
    );
  const present = rules ? cards.filter((card) => !card.inTrash && card.typeKey === type.key).map((card) => ({ id: card._id, values: card.values })) : [];
  if (rules)
    await claim(
      type.key,
      present.flatMap((card) => claimKeys(type, rules, card.values)),
      session,
    );
  const { common, earlierHolders, holders } = rules
    ? await commonValuesAmong(
        type.key,
        present.flatMap((card) => cardKeys(type, rules, card.values).exact),
        session,
      )
    : { common: new Set<string>(), earlierHolders: [], holders: null };
  const widen = earlierHolders.filter((id) => !changed.has(String(id)));
  if (widen.length > 0 && !options.widened) return refreshWithin(type, rules, [...cardIds, ...widen], session, { ...options, widened: true });
  const alike = rules ? await alikeCardsOfMany(type, rules, present, common, session, holders) : new Map<Types.ObjectId, Alike[]>();
  for (const card of present) {
    for (const edge of boundedEdges(card.id, alike.get(card.id) ?? [])) {
      if (changed.has(String(edge.b)) && String(edge.b) < String(card.id)) continue;
      found.push(edge);
    }
  }
  const fresh = await withoutDismissed(found, session);
  const touched = [...changed, ...fresh.map((edge) => String(edge.b))];
  const old = await DuplicateGroup.find({ cardIds: { $in: touched.map((id) => new Types.ObjectId(id)) } }, null, { session }).lean<DuplicateGroupDoc[]>();
  const kept = old.flatMap((group) => group.edges).filter((edge) => !changed.has(String(edge.a)) && !changed.has(String(edge.b)));
  const edges = [...kept, ...fresh];
  // A card alike to none, in no group: nothing more to read or write (the usual case of a save).
  if (old.length === 0 && edges.length === 0) return;
  const memberIds = [...new Set(edges.flatMap((edge) => [String(edge.a), String(edge.b)]))].map((id) => new Types.ObjectId(id));
  const placed = memberIds.length > 0 ? await DuplicateKey.find({ _id: { $in: memberIds }, typeKey: type.key }, { folderId: 1, libraryId: 1 }, { session }).lean<Place[]>() : [];
  const places = new Map(placed.map((place) => [String(place._id), place]));
  const groups = groupDocs(type.key, edges, places);
  if (old.length === 0 && groups.length === 0) return;
  await dropGroups(
    old.map((group) => group._id),
    session,
  );
  await storeGroups(groups, session);
}

const distinctIds = (ids: Types.ObjectId[]) => [...new Map(ids.map((id) => [String(id), id])).values()];

/** A group's ranks: per pair of folders its pairs join, the best score of those pairs (see `DuplicateRank`). */
export function ranksOf(group: DuplicateGroupDoc): DuplicateRankDoc[] {
  const index = new Map(group.cardIds.map((id, at) => [String(id), at]));
  const [folderId, libraryId] = [distinctIds(group.folderId), distinctIds(group.libraryId)];
  const rows = new Map<string, DuplicateRankDoc>();
  for (const edge of group.edges) {
    const ends = [index.get(String(edge.a)), index.get(String(edge.b))];
    if (ends[0] === undefined || ends[1] === undefined) continue;
    const [x, y] = (ends as number[]).sort((i, j) => (String(group.folderId[i]) < String(group.folderId[j]) ? -1 : 1));
    const _id = `${String(group._id)}/${String(group.folderId[x])}/${String(group.folderId[y])}`;
    const row = rows.get(_id);
    if (row) row.score = Math.max(row.score, edge.score);
    else
      rows.set(_id, {
        _id,
        groupId: group._id,
        typeKey: group.typeKey,
        score: edge.score,
        folders: [group.folderId[x], group.folderId[y]],
        libraries: [group.libraryId[x], group.libraryId[y]],
        folderId,
        libraryId,
      });
  }
  return [...rows.values()];
}

/** Writes groups with their ranks. */
export async function storeGroups(groups: DuplicateGroupDoc[], session?: ClientSession): Promise<void> {
  if (groups.length === 0) return;
  await DuplicateGroup.insertMany(groups, { session, lean: true });
  await DuplicateRank.insertMany(groups.flatMap(ranksOf), { session, lean: true });
}

/** Removes groups with their ranks. */
export async function dropGroups(ids: Types.ObjectId[], session?: ClientSession): Promise<void> {
  if (ids.length === 0) return;
  await DuplicateGroup.deleteMany({ _id: { $in: ids } }, { session });
  await DuplicateRank.deleteMany({ groupId: { $in: ids } }, { session });
}

// ---------- what a user sees ----------

export interface VisibleGroup {
  /** The group's id, with `.n` for the second and later parts a viewer sees of one stored group. */
  id: string;
  group: DuplicateGroupDoc;
  /** The members the viewer may read (at least two), each joined to another by a pair they may see. */
  cardIds: Types.ObjectId[];
  edges: DuplicateEdge[];
  /** The viewer may edit every one of them. */
  canMerge: boolean;
}

/**
 * A group as one viewer sees it: only members they may read and the pairs between them. A group
 * held together only through a card the viewer may not read falls apart into the parts their pairs
 * join (a member left without a visible pair is left out: the viewer could neither see why it is
 * there nor resolve it). A part is theirs to handle when they may edit one of its members.
 */
function asSeenBy(actor: Actor, group: DuplicateGroupDoc): VisibleGroup[] {
  const readable = new Set<string>();
  const editable = new Set<string>();
  group.cardIds.forEach((id, index) => {
    const place = { folderId: group.folderId[index], libraryId: group.libraryId[index] };
    if (!actor.ability.can('read', cardSubject(place))) return;
    readable.add(String(id));
    if (actor.ability.can('update', cardSubject(place))) editable.add(String(id));
  });
  const edges = group.edges.filter((edge) => readable.has(String(edge.a)) && readable.has(String(edge.b)));
  const parts = Components.of(edges).filter(({ members }) => members.some((id) => editable.has(id)));
  // Each part's cards in the group's order, in one pass over the group.
  const partOf = new Map(parts.flatMap(({ members }, index) => members.map((id) => [id, index] as const)));
  const cardIds = parts.map((): Types.ObjectId[] => []);
  for (const id of group.cardIds) {
    const index = partOf.get(String(id));
    if (index !== undefined) cardIds[index].push(id);
  }
  return parts.map(({ members, edges: partEdges }, index) => ({
    id: index === 0 ? String(group._id) : `${String(group._id)}.${index}`,
    group,
    cardIds: cardIds[index],
    edges: partEdges,
    canMerge: members.every((id) => editable.has(id)),
  }));
}

/** `first` of a list: a whole number from 1 (anything else is refused, naming it), at most `max`. */
export function listLimit(actor: Actor, first: number, max: number): number {
  if (!Number.isInteger(first) || first < 1) {
    const errors = new FieldErrors(actor.locale);
    errors.addMessage('first', actor.locale === 'ru' ? 'Укажите целое число от 1' : 'Give a whole number from 1');
    errors.throwIfAny();
  }
  return Math.min(first, max);
}

const readsFolder = (actor: Actor, folderId: Types.ObjectId, libraryId: Types.ObjectId) => actor.ability.can('read', cardSubject({ folderId, libraryId }));

/** A group's place in the viewer's list: its best rank whose two folders they may read (the best score of pairs they see); null when none. */
interface ListPlace {
  score: number;
  id: string;
}
function placeFor(actor: Actor, group: DuplicateGroupDoc): ListPlace | null {
  let best: ListPlace | null = null;
  for (const rank of ranksOf(group)) {
    if (!readsFolder(actor, rank.folders[0], rank.libraries[0]) || !readsFolder(actor, rank.folders[1], rank.libraries[1])) continue;
    if (!best || rank.score > best.score || (rank.score === best.score && rank._id < best.id)) best = { score: rank.score, id: rank._id };
  }
  return best;
}

const cursorOf = (place: ListPlace) => `${place.score}_${place.id}`;

function parseCursor(actor: Actor, after: string | null | undefined): ListPlace | null {
  if (!after) return null;
  const match = /^(0|1|0\.\d{1,20})_([0-9a-f]{24}\/[0-9a-f]{24}\/[0-9a-f]{24})$/.exec(after);
  if (!match) refuseField(actor.locale, 'after', 'badCursor');
  return { score: Number(match[1]), id: match[2] };
}

const isAfter = (place: ListPlace, cursor: ListPlace | null) => !cursor || place.score < cursor.score || (place.score === cursor.score && place.id > cursor.id);
const byPlace = (x: ListPlace, y: ListPlace) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

/**
 * The stored groups that may hold something for the viewer: all for administrators, else those with
 * a member in a folder they may edit. The permission condition of cards fits groups: their members'
 * folders and libraries are listed.
 */
async function groupFilter(actor: Actor, base: Record<string, unknown>): Promise<Record<string, unknown>> {
  return actor.isAdmin || (await checksEachCard(actor, 'update')) ? base : { $and: [base, accessibleBy(actor.ability, 'update').ofType('Card')] };
}

/** Groups counted for one viewer at most (a count beyond it reads «more than …»). */
export const COUNTED_GROUPS = 1000;

/**
 * How many groups of a type the viewer has in the «Дубликаты» view (as `listGroups` shows them:
 * only cards they may read), counted up to COUNTED_GROUPS; `more` when there are more.
 */
export async function countGroups(actor: Actor, typeKey: string): Promise<{ count: number; more: boolean }> {
  if (actor.isAdmin) {
    const count = await DuplicateGroup.countDocuments({ typeKey }).limit(COUNTED_GROUPS + 1);
    return { count: Math.min(count, COUNTED_GROUPS), more: count > COUNTED_GROUPS };
  }
  let count = 0;
  const cursor = DuplicateGroup.find(await groupFilter(actor, { typeKey }), { cardIds: 1, folderId: 1, libraryId: 1, edges: 1 })
    .lean<DuplicateGroupDoc[]>()
    .cursor({ batchSize: 200 });
  try {
    for await (const group of cursor as AsyncIterable<DuplicateGroupDoc>) {
      count += asSeenBy(actor, group).length;
      if (count > COUNTED_GROUPS) return { count: COUNTED_GROUPS, more: true };
    }
  } finally {
    await cursor.close();
  }
  return { count, more: false };
}

/** `cards`: cards a search of the «Дубликаты» list looks at, at most (the groups of those cards are shown; the page says when more matched). */
export const searchLimits = { cards: 500 };

/** `searchLimit`: the search matched more cards than it looks at (`searchLimits.cards`, given here), so the groups are of the first of them; else null. */
type GroupPage = { edges: { node: VisibleGroup; cursor: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; searchLimit: number | null };

const pageOf = (found: { node: VisibleGroup; cursor: string }[], more: boolean, searchLimit: number | null = null): GroupPage => ({
  edges: found,
  pageInfo: { hasNextPage: more, endCursor: found.at(-1)?.cursor ?? null },
  searchLimit,
});

/**
 * A page of the parts of these stored groups that hold one of `cardIds`, in the viewer's order,
 * after the cursor (a search, or a card's own group: the groups are few, read whole).
 */
function pageAmong(actor: Actor, groups: DuplicateGroupDoc[], cardIds: Set<string>, limit: number, after: ListPlace | null, searchLimit: number | null = null): GroupPage {
  const placed = groups.flatMap((group) => {
    const place = placeFor(actor, group);
    const seen = asSeenBy(actor, group).filter((part) => part.cardIds.some((id) => cardIds.has(String(id))));
    return place && seen.length > 0 && isAfter(place, after) ? [{ place, seen }] : [];
  });
  placed.sort((x, y) => byPlace(x.place, y.place));
  const shown = placed.slice(0, limit);
  return pageOf(
    shown.flatMap(({ place, seen }) => seen.map((node) => ({ node, cursor: cursorOf(place) }))),
    placed.length > limit,
    searchLimit,
  );
}

/**
 * The cards whose title has every word of the search (as the card search reads words), among those
 * the viewer may read: the first `searchLimits.cards` of them, `more` when there are more.
 */
async function cardsTitled(actor: Actor, search: string): Promise<{ ids: Set<string>; more: boolean }> {
  const text = searchText(actor.locale, 'search', search);
  const prefixes = queryPrefixes(text);
  if (prefixes.length === 0) return { ids: new Set(), more: false };
  const limit = searchLimits.cards;
  const found = await searchByWords(actor, text, { libraryId: null, limit: limit + 1 });
  const ids = new Set(
    found
      .slice(0, limit)
      .filter((card) => {
        const words = searchWordsOf(normaliseForSearch(card.title));
        return prefixes.every((prefix) => words.some((word) => word.startsWith(prefix)));
      })
      .map((card) => String(card._id)),
  );
  return { ids, more: found.length > limit };
}

/**
 * Groups of probable duplicates the viewer may see, best first: administrators see all of them,
 * everyone else the groups with a card in a folder they may edit and at least two cards they may
 * read (members they may not read are left out). A group's place, its score and the cursor come
 * from the pairs the viewer may read only (its ranks between folders they read). With `search`,
 * only groups holding a card whose title has its words; with `cardId`, only that card's group.
 */
export async function listGroups(
  actor: Actor,
  options: { typeKey?: string | null; search?: string | null; cardId?: string | null; first: number; after?: string | null },
): Promise<GroupPage> {
  const limit = listLimit(actor, options.first, 100);
  const after = parseCursor(actor, options.after);
  const ofType = options.typeKey ? { typeKey: options.typeKey } : {};
  if (options.cardId) {
    const id = objectIdArgument(actor.locale, 'cardId', options.cardId);
    const groups = await DuplicateGroup.find({ cardIds: id, ...ofType }).lean<DuplicateGroupDoc[]>();
    return pageAmong(actor, groups, new Set([String(id)]), limit, after);
  }
  if (options.search?.trim()) {
    const titled = await cardsTitled(actor, options.search);
    const ids = [...titled.ids].map((id) => new Types.ObjectId(id));
    const groups = ids.length > 0 ? await DuplicateGroup.find({ cardIds: { $in: ids }, ...ofType }).lean<DuplicateGroupDoc[]>() : [];
    return pageAmong(actor, groups, titled.ids, limit, after, titled.more ? searchLimits.cards : null);
  }
  const since = after ? { $or: [{ score: { $lt: after.score } }, { score: after.score, _id: { $gt: after.id } }] } : {};
  const filter = await groupFilter(actor, { ...ofType, ...since });
  const found: { node: VisibleGroup; cursor: string }[] = [];
  let shownGroups = 0;
  let more = false;
  /** Groups read for this page, by id (a group's other ranks on the page are passed by without reading it again). */
  const read = new Map<string, DuplicateGroupDoc | null>();
  const cursor = DuplicateRank.find(filter)
    .sort({ score: -1, _id: 1 })
    .lean<DuplicateRankDoc[]>()
    .batchSize(limit + 1)
    .cursor();
  try {
    for await (const rank of cursor as AsyncIterable<DuplicateRankDoc>) {
      // A group is listed once, at its best rank the viewer may read; its other ranks are passed by.
      if (!readsFolder(actor, rank.folders[0], rank.libraries[0]) || !readsFolder(actor, rank.folders[1], rank.libraries[1])) continue;
      const key = String(rank.groupId);
      if (!read.has(key)) read.set(key, await DuplicateGroup.findById(rank.groupId).lean<DuplicateGroupDoc>());
      const group = read.get(key) ?? null;
      const place = group && placeFor(actor, group);
      if (!group || place?.id !== rank._id) continue;
      const seen = asSeenBy(actor, group);
      if (seen.length === 0) continue;
      // Pages end between stored groups (the cursor names one), so a split group stays on one page.
      if (shownGroups >= limit) {
        more = true;
        break;
      }
      shownGroups += 1;
      found.push(...seen.map((node) => ({ node, cursor: cursorOf(place) })));
    }
  } finally {
    await cursor.close();
  }
  return pageOf(found, more);
}

/**
 * For each card, the viewer's part of the group holding it (cards they may read), or null: one query
 * for all the cards, and each group worked out once however many of its cards are asked for.
 */
export async function groupsOfCards(actor: Actor, cardIds: readonly string[]): Promise<(VisibleGroup | null)[]> {
  const groups = await DuplicateGroup.find({ cardIds: { $in: cardIds.map((id) => new Types.ObjectId(id)) } }).lean<DuplicateGroupDoc[]>();
  const partOfCard = new Map<string, VisibleGroup>();
  for (const group of groups) for (const part of asSeenBy(actor, group)) for (const id of part.cardIds) partOfCard.set(String(id), part);
  return cardIds.map((id) => partOfCard.get(id) ?? null);
}
