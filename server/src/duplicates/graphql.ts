import DataLoader from 'dataloader';
import type { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { accessSnapshot } from '../access/snapshot';
import { kindOf, type CardTypeDefinition } from '../../../card-types';
import { findCardType, listCardTypes } from '../card-types/registry';
import { Card, type CardDoc } from '../cards/model';
import { forbidden, notFound } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import { perRequest } from '../graphql/loaders';
import { requireActor, requireAdmin } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { Job, type JobDoc } from '../jobs/model';
import { jobView } from '../jobs/view';
import { bestScore, countGroups, groupsOfCards, listGroups, listLimit, searchLimits, type VisibleGroup } from './groups';
import { FieldErrors, MAX_MERGED } from '../validation';
import { findMerge, mergeCards, mergeOfCard, readableReferences, survivorTitle, undoMerge, undoState, type MergeInput } from './merge';
import { lookAlikeValues } from './normalize';
import type { DuplicateEdge, MatchRule, MergeDoc } from './model';
import { checkRules, commonValuesOf, lastScan, resetRules, ruleLabel, rulesOf, saveRules, typesWithRules, type RuleInput, type TypeRules } from './rules';
import { commonValueLimits } from './keys';
import { latestScan, requestScan } from './scan';
import { listDismissals, markNotDuplicates, mayHandleDuplicates, requireDuplicatesAccess, similarCards, undoDismissal, type DismissalView } from './service';

/**
 * The longest value `lookAlikeValues` compares: a line of text (500), a title (200), an address
 * (2,000). Multi-line texts are not compared: their cost grows with their length, and look-alike
 * letters matter in names and addresses.
 */
const LOOK_ALIKE_MAX_LENGTH = 2_000;

const serviceContext = async (context: GraphQLContext) => ({ actor: await requireActor(context), logger: context.logger });

/** A rule as the API shows it, with its label in the viewer's language. */
async function ruleView(actor: Actor, typeKey: string, rule: Pick<MatchRule, 'id'> & Partial<MatchRule>) {
  const type = await findCardType(typeKey);
  const rules = await rulesOf(typeKey);
  const full = rules?.rules.find((r) => r.id === rule.id) ?? (rule.fields && rule.mode ? (rule as MatchRule) : null);
  return { id: rule.id, fields: full?.fields ?? [], mode: full?.mode ?? 'exact', label: type && full ? ruleLabel(type, full, actor.locale) : rule.id };
}

/** A common value as its field shows it (a phone's digits as «+7 495 777 00 00»), or as compared when the field does not take it. */
function shownValue(type: CardTypeDefinition | null, rule: MatchRule | undefined, value: string): string {
  const field = rule?.fields.length === 1 ? type?.fields.find((f) => f.key === rule.fields[0]) : undefined;
  const parsed = field ? kindOf(field).parse(value, field) : null;
  return parsed && 'value' in parsed && typeof parsed.value === 'string' ? parsed.value : value;
}

/** The type's common values, for administrators (the cards holding them are not all others' to read). */
async function commonValuesView(actor: Actor, rules: TypeRules) {
  if (!actor.isAdmin) return [];
  const type = await findCardType(rules.typeKey);
  return Promise.all(
    (await commonValuesOf(rules)).map(async (common) => ({
      rule: await ruleView(actor, rules.typeKey, { id: common.rule }),
      value: shownValue(
        type,
        rules.rules.find((rule) => rule.id === common.rule),
        common.value,
      ),
      cards: common.cards,
    })),
  );
}

async function ruleSetView(actor: Actor, rules: TypeRules) {
  const groups = await countGroups(actor, rules.typeKey);
  return {
    typeKey: rules.typeKey,
    threshold: rules.threshold,
    customized: rules.customized,
    rules: await Promise.all(rules.rules.map((rule) => ruleView(actor, rules.typeKey, rule))),
    scannedAt: await lastScan(rules),
    groups: groups.count,
    moreGroups: groups.more,
    commonValues: await commonValuesView(actor, rules),
  };
}

async function ruleSetOf(actor: Actor, typeKey: string) {
  const rules = await rulesOf(typeKey);
  if (!rules) throw notFound(actor, actor.locale === 'ru' ? 'Тип карточки' : 'Card type');
  return ruleSetView(actor, rules);
}

/** Cards by id in the order asked, as stored (the merged ones are in the trash); only those the viewer may read. */
async function readableCards(actor: Actor, ids: Types.ObjectId[]): Promise<CardDoc[]> {
  const cards = await Card.find({ _id: { $in: ids } }).lean<CardDoc[]>();
  const byId = new Map(cards.filter((card) => actor.ability.can('read', cardSubject(card))).map((card) => [String(card._id), card]));
  return ids.flatMap((id) => byId.get(String(id)) ?? []);
}

/**
 * The most cards, and pairs, a group lists (`DuplicateCardGroup.cards(first:)`, `pairs(first:)`):
 * a group is a union of pairs and nothing bounds its size — a chain of cards each sharing a phone
 * with the one before and an e-mail with the one after is one group of thousands —, while a merge
 * takes MAX_MERGED + 1 cards at a time; `size` says how many it has. Unbounded, a page of cards
 * asking each one's group read 600,000 cards and took the server's heap (s11 attack A3).
 */
export const GROUP_LIST_LIMITS = { cards: 50, pairs: 100 };

/** A value worked out once per object of a response, however many of its fields ask for it. */
function oncePerObject<K extends object, V>(compute: (key: K, actor: Actor) => Promise<V>): (key: K, context: GraphQLContext) => Promise<V> {
  const known = new WeakMap<K, Promise<V>>();
  return (key, context) => {
    let value = known.get(key);
    if (!value) known.set(key, (value = requireActor(context).then((actor) => compute(key, actor))));
    return value;
  };
}

/** The first cards of a group the viewer sees (readable, outside the trash): its cards and their look-alike titles ask. */
const shownCards = oncePerObject(async (seen: VisibleGroup, actor) => (await readableCards(actor, seen.cardIds.slice(0, GROUP_LIST_LIMITS.cards))).filter((card) => !card.inTrash));

/** A merge's undo state: both `canUndo` and `undoObstacle` ask. */
const undoStateOf = oncePerObject((merge: MergeDoc, actor) => undoState(actor, merge));

/**
 * One request's duplicate groups of cards: a page of cards asking each for its group costs one query,
 * and a group is worked out once for all its cards on the page (s11 re-attack of A3: 200 cards of one
 * 1,500-card group built it 200 times, 8 s, and six such lists in a request held the server 30 s).
 */
const groupsOfPageCards = (context: GraphQLContext, actor: Actor) =>
  perRequest(context, 'duplicate-groups-of-cards', () => new DataLoader<string, VisibleGroup | null>((cardIds) => groupsOfCards(actor, cardIds)));

export const duplicatesModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    enum DuplicateMatchMode { exact similar }
    "A matching rule of a card type: which fields, compared exactly (normalised) or by similarity."
    type DuplicateRule { id: ID!, fields: [String!]!, mode: DuplicateMatchMode!, label: String! }
    type DuplicateRuleSet {
      typeKey: ID!
      type: CardType
      "Similarity (0.3–1) from which names count as alike."
      threshold: Float!
      rules: [DuplicateRule!]!
      "An administrator's rules replace the built-in ones."
      customized: Boolean!
      "When all cards of the type were last compared under these rules; null: not yet."
      scannedAt: DateTime
      "How many groups of the type the viewer has in the «Дубликаты» view (cards they may read), counted up to 1,000."
      groups: Int!
      "There are more groups than \`groups\` (counting stopped there)."
      moreGroups: Boolean!
      "Administrators: values of exact rules the last scan found on more than \`commonValueLimit\` cards each (a business centre's switchboard, a holding's mailbox), the most held first; such a value joins no cards. Empty for others."
      commonValues: [DuplicateCommonValue!]!
    }
    "A value held by so many cards that it is no sign of duplicates: which rule's, the value as its field shows it, on how many cards."
    type DuplicateCommonValue { rule: DuplicateRule!, value: String!, cards: Int! }
    "A card found alike while another is typed: how much (0–1) and by which rules."
    type SimilarCard {
      card: Card!
      score: Float!
      rules: [DuplicateRule!]!
      "Unique fields (their labels, in the account's language) whose typed value this card already holds: saving these values will be refused."
      refusedBy: [String!]!
      "The same unique fields by key (a client names them in its interface language from the type's labels)."
      refusedFields: [String!]!
    }
    type DuplicatePair { a: ID!, b: ID!, score: Float!, rule: DuplicateRule! }
    "Probable duplicates: the cards the viewer may read, the pairs that joined them, the best score."
    type DuplicateCardGroup {
      id: ID!
      typeKey: String!
      type: CardType
      score: Float!
      "The first \`first\` (at most ${GROUP_LIST_LIMITS.cards}) of the group's cards the viewer may read; \`size\` says how many there are."
      cards(first: Int = ${MAX_MERGED + 1}): [Card!]!
      "The pairs that joined them, the best first, at most \`first\` (up to ${GROUP_LIST_LIMITS.pairs})."
      pairs(first: Int = 30): [DuplicatePair!]!
      "The rules that joined the pairs the viewer sees, each once."
      rules: [DuplicateRule!]!
      "The viewer may edit every card of the group (merge, «Не дубликат»)."
      canMerge: Boolean!
      "How many cards of the group the viewer may read."
      size: Int!
      "Titles of the group's cards (of the first ${MAX_MERGED + 1} shown) that differ from another's only by look-alike letters or invisible characters, the telling characters named as \`lookAlikeValues\` names them; the others are left out."
      lookAlikeTitles: [LookAlikeValue!]!
    }
    type DuplicateCardGroupEdge { node: DuplicateCardGroup!, cursor: String! }
    "«Не дубликат»: two cards someone set apart (not offered together again), who and when."
    type DuplicateDismissal { id: ID!, typeKey: String!, type: CardType, cards: [Card!]!, byName: String!, at: DateTime! }
    type DuplicateDismissalEdge { node: DuplicateDismissal!, cursor: String! }
    type DuplicateDismissalConnection { edges: [DuplicateDismissalEdge!]!, pageInfo: PageInfo! }
    type DuplicateCardGroupConnection {
      edges: [DuplicateCardGroupEdge!]!
      pageInfo: PageInfo!
      "A search that matched more cards than it looks at: how many it looked at (the groups are those of the first of them; a narrower search finds the rest); null otherwise."
      searchLimit: Int
    }
    type DuplicateScanStatus {
      "The latest scan, when the viewer may see it (they started it, or they are an administrator)."
      job: Job
      types: [DuplicateRuleSet!]!
      "A value of an exact rule (a phone, an e-mail, an INN) held by more cards of a type than this is a common one and joins no cards."
      commonValueLimit: Int!
    }
    "A merge of cards into a survivor; undoing it restores all of them and the references."
    type CardMerge {
      id: ID!
      typeKey: String!
      survivor: Card
      "The survivor's title, also once it was deleted for good (\`survivor\` is null then); null when the viewer may not read it."
      survivorTitle: String
      "The survivor was deleted for good (purged from the trash): the merge can no longer be undone."
      survivorDeleted: Boolean!
      merged: [Card!]!
      "How many references to the merged cards were re-pointed to the survivor (those in cards the viewer may read)."
      references: Int!
      byName: String!
      at: DateTime!
      undoneAt: DateTime
      "The viewer may undo it now: nothing changed since, and they may edit every card of it."
      canUndo: Boolean!
      "Why it can no longer be undone (changed, deleted or restored since, undone already, rights), for those it concerns; else null."
      undoObstacle: String
      "A large merge's undo's background job pointing the references back to the restored cards (with progress), for who undid it and administrators; null when the undo was made within the request."
      undoJob: Job
    }
    type MergeResult {
      merge: CardMerge!
      survivor: Card!
      "A large merge's background job re-pointing the references to the merged cards (with progress); null when the merge is complete."
      job: Job
    }
"A part of a value as the merge dialog shows it: plain text (\`hint\` null), or one character telling it apart from a look-alike value, named by \`hint\` («латинская a», «невидимый символ U+200B»)."
    type LookAlikePart { text: String!, hint: String, invisible: Boolean! }
    type LookAlikeValue { value: String!, parts: [LookAlikePart!]! }
    input CardVersionInput { id: ID!, version: Int! }
    "The value of this field stays as the given card has it."
    input MergeChoiceInput { field: String!, cardId: ID! }
    input DuplicateRuleInput { id: String, fields: [String!]!, mode: DuplicateMatchMode! }

    extend type Card {
      "The card this one was merged into (it is in the trash until the merge is undone); null when the viewer may not read it."
      mergedInto: Card
      "The title of the card this one was merged into, also once that card was deleted for good (\`mergedInto\` is null then); null when not merged or the viewer may not read it."
      mergedIntoTitle: String
      "The merge that put this card in the trash, when the viewer may read its survivor (or this card, once the survivor was deleted for good)."
      merge: CardMerge
      "«Возможные дубликаты»: the group of probable duplicates this card is in, as the viewer sees it in the «Дубликаты» view (cards they may read); null when it is in none or the view is not theirs."
      duplicateGroup: DuplicateCardGroup
    }

    extend type Query {
      "«Похожие карточки»: cards of the type alike to the values being typed, among those the viewer may read."
      similarCards(typeKey: String!, values: JSON!, excludeId: ID, first: Int = 10): [SimilarCard!]!
      "Groups of probable duplicates, best first (users with editing rights; administrators see all); with \`search\`, the groups of cards whose title has its words (of the first ${searchLimits.cards} such cards: \`searchLimit\` says when more matched); with \`cardId\`, that card's group."
      duplicateGroups(typeKey: String, search: String, cardId: ID, first: Int = 20, after: String): DuplicateCardGroupConnection!
      duplicateScan: DuplicateScanStatus!
      "«Отмечены как не дубликаты»: the pairs set apart that the viewer may take back (they may edit both cards), the latest first."
      duplicateDismissals(typeKey: String, first: Int = 30, after: String): DuplicateDismissalConnection!
      "Administrators: the matching rules of every card type."
      duplicateRuleSets: [DuplicateRuleSet!]!
      duplicateRuleSet(typeKey: String!): DuplicateRuleSet!
      cardMerge(id: ID!): CardMerge
      "Of these values (one field's, on the cards being merged), those that differ from another only by look-alike letters (Latin «a» for Cyrillic «а») or invisible characters, the telling characters named; the others are left out. At most ${MAX_MERGED + 1} values of ${LOOK_ALIKE_MAX_LENGTH.toLocaleString('en-US')} characters; for those who handle duplicates (merge) only."
      lookAlikeValues(values: [String!]!): [LookAlikeValue!]!
    }
    extend type Mutation {
      "Administrators: finds all groups again (a background job with progress); the one already running, if any."
      findDuplicates: Job!
      "«Не дубликат»: the card and each of the others are not offered together again."
      markNotDuplicates(cardId: ID!, otherIds: [ID!]!): Boolean!
      "Takes a «Не дубликат» mark back (its id from \`duplicateDismissals\`): the two cards are offered together again at once."
      undoNotDuplicates(id: ID!): Boolean!
      "Merges cards into the survivor: chosen values stay, lists are united, references re-pointed, merged cards to the trash."
      mergeCards(survivor: CardVersionInput!, merged: [CardVersionInput!]!, choices: [MergeChoiceInput!]! = []): MergeResult!
      undoMerge(id: ID!): CardMerge!
      "Administrators: the matching rules and threshold of a type (then all groups are found again)."
      setDuplicateRules(typeKey: String!, threshold: Float!, rules: [DuplicateRuleInput!]!): DuplicateRuleSet!
      "Administrators: back to the built-in rules of a type."
      resetDuplicateRules(typeKey: String!): DuplicateRuleSet!
    }
  `,
  resolvers: {
    Query: {
      similarCards: async (_p, args: { typeKey: string; values: unknown; excludeId?: string | null; first: number }, context) => similarCards(await requireActor(context), args),
      duplicateGroups: async (_p, args: { typeKey?: string | null; search?: string | null; cardId?: string | null; first: number; after?: string | null }, context) => {
        const actor = await requireActor(context);
        requireDuplicatesAccess(actor);
        return listGroups(actor, args);
      },
      duplicateScan: async (_p, _a, context) => {
        const actor = await requireActor(context);
        requireDuplicatesAccess(actor);
        const job = await latestScan();
        const visible = job && (actor.isAdmin || String(job.ownerId) === actor.userId) ? job : null;
        return {
          job: visible,
          types: await Promise.all((await typesWithRules()).map((rules) => ruleSetView(actor, rules))),
          commonValueLimit: commonValueLimits.cards,
        };
      },
      duplicateDismissals: async (_p, args: { typeKey?: string | null; first: number; after?: string | null }, context) => listDismissals(await requireActor(context), args),
      duplicateRuleSets: async (_p, _a, context) => {
        const actor = await requireAdmin(context);
        return Promise.all((await listCardTypes()).map((type) => ruleSetOf(actor, type.key)));
      },
      duplicateRuleSet: async (_p, { typeKey }: { typeKey: string }, context) => ruleSetOf(await requireAdmin(context), typeKey),
      cardMerge: async (_p, { id }: { id: string }, context) => findMerge(await requireActor(context), id),
      lookAlikeValues: async (_p, { values }: { values: string[] }, context) => {
        const actor = await requireActor(context);
        requireDuplicatesAccess(actor);
        const errors = new FieldErrors(actor.locale);
        if (values.length > MAX_MERGED + 1) errors.addMessage('values', actor.locale === 'ru' ? `Не больше ${MAX_MERGED + 1} значений` : `At most ${MAX_MERGED + 1} values`);
        if (values.some((value) => value.length > LOOK_ALIKE_MAX_LENGTH))
          errors.addMessage(
            'values',
            actor.locale === 'ru'
              ? `Значение длиннее ${LOOK_ALIKE_MAX_LENGTH.toLocaleString('ru')} символов`
              : `A value is longer than ${LOOK_ALIKE_MAX_LENGTH.toLocaleString('en')} characters`,
          );
        errors.throwIfAny();
        return lookAlikeValues(values, actor.locale);
      },
    },
    Mutation: {
      // Administrators only: the scan reads the whole installation (its progress counts every card), and the
      // groups of the cards a user handles are kept current by every save without it.
      findDuplicates: async (_p, _a, context) => {
        const actor = await requireActor(context);
        if (!actor.isAdmin)
          throw forbidden(
            actor,
            actor.locale === 'ru'
              ? 'поиск дубликатов по всем карточкам запускает администратор (группы ваших карточек обновляются сами при каждом изменении)'
              : 'the search for duplicates among all cards is started by an administrator (the groups of your cards are kept current by every change)',
          );
        return requestScan(actor.userId);
      },
      markNotDuplicates: async (_p, { cardId, otherIds }: { cardId: string; otherIds: string[] }, context) => markNotDuplicates(await requireActor(context), cardId, otherIds),
      undoNotDuplicates: async (_p, { id }: { id: string }, context) => undoDismissal(await requireActor(context), id),
      mergeCards: async (_p, input: MergeInput, context) => mergeCards(await serviceContext(context), input),
      undoMerge: async (_p, { id }: { id: string }, context) => (await undoMerge(await serviceContext(context), id)).merge,
      setDuplicateRules: async (_p, args: { typeKey: string; threshold: number; rules: RuleInput[] }, context) => {
        const actor = await requireAdmin(context);
        const type = await findCardType(args.typeKey);
        if (!type) throw notFound(actor, actor.locale === 'ru' ? 'Тип карточки' : 'Card type');
        await saveRules(actor, type.key, checkRules(actor, type, args.threshold, args.rules));
        await requestScan(actor.userId, [type.key]);
        return ruleSetOf(actor, type.key);
      },
      resetDuplicateRules: async (_p, { typeKey }: { typeKey: string }, context) => {
        const actor = await requireAdmin(context);
        await ruleSetOf(actor, typeKey);
        await resetRules(typeKey);
        await requestScan(actor.userId, [typeKey]);
        return ruleSetOf(actor, typeKey);
      },
    },
    DuplicateRuleSet: {
      type: (set: { typeKey: string }) => findCardType(set.typeKey),
    },
    DuplicateDismissal: {
      type: (mark: DismissalView) => findCardType(mark.typeKey),
      // From the access snapshot, as cards' authors: a page of marks costs no query per mark.
      byName: async (mark: DismissalView) => (await accessSnapshot()).users.get(String(mark.by))?.fullName ?? '',
    },
    SimilarCard: {
      rules: async (match: { card: CardDoc; rules: { id: string }[] }, _a, context) =>
        Promise.all(match.rules.map(async (rule) => ruleView(await requireActor(context), match.card.typeKey, rule))),
    },
    DuplicateCardGroup: {
      id: (seen: VisibleGroup) => seen.id,
      typeKey: (seen: VisibleGroup) => seen.group.typeKey,
      type: (seen: VisibleGroup) => findCardType(seen.group.typeKey),
      score: (seen: VisibleGroup) => bestScore(seen.edges),
      size: (seen: VisibleGroup) => seen.cardIds.length,
      cards: async (seen: VisibleGroup, { first }: { first: number }, context) =>
        (await shownCards(seen, context)).slice(0, listLimit(await requireActor(context), first, GROUP_LIST_LIMITS.cards)),
      lookAlikeTitles: async (seen: VisibleGroup, _a, context) => {
        const titles = (await shownCards(seen, context)).slice(0, MAX_MERGED + 1).map((card) => card.title);
        return lookAlikeValues(titles, (await requireActor(context)).locale);
      },
      rules: async (seen: VisibleGroup, _a, context) => {
        const actor = await requireActor(context);
        return Promise.all([...new Set(seen.edges.map((edge) => edge.rule))].map((id) => ruleView(actor, seen.group.typeKey, { id })));
      },
      pairs: async (seen: VisibleGroup, { first }: { first: number }, context) => {
        const actor = await requireActor(context);
        const best = [...seen.edges].sort((x, y) => y.score - x.score).slice(0, listLimit(actor, first, GROUP_LIST_LIMITS.pairs));
        return Promise.all(
          best.map(async (edge: DuplicateEdge) => ({
            a: String(edge.a),
            b: String(edge.b),
            score: edge.score,
            rule: await ruleView(actor, seen.group.typeKey, { id: edge.rule }),
          })),
        );
      },
    },
    CardMerge: {
      id: (merge: MergeDoc) => String(merge._id),
      survivor: async (merge: MergeDoc, _a, context) => (await readableCards(await requireActor(context), [merge.survivor.cardId]))[0] ?? null,
      merged: async (merge: MergeDoc, _a, context) =>
        readableCards(
          await requireActor(context),
          merge.merged.map((m) => m.cardId),
        ),
      survivorTitle: async (merge: MergeDoc, _a, context) => survivorTitle(await requireActor(context), merge),
      survivorDeleted: async (merge: MergeDoc) => !(await Card.exists({ _id: merge.survivor.cardId })),
      references: async (merge: MergeDoc, _a, context) => readableReferences(await requireActor(context), merge),
      canUndo: async (merge: MergeDoc, _a, context) => (await undoStateOf(merge, context)).canUndo,
      undoObstacle: async (merge: MergeDoc, _a, context) => (await undoStateOf(merge, context)).obstacle,
      undoJob: async (merge: MergeDoc, _a, context) => {
        if (!merge.undoJobId) return null;
        const actor = await requireActor(context);
        const job = await Job.findById(merge.undoJobId).lean<JobDoc>();
        return job && (actor.isAdmin || String(job.ownerId) === actor.userId) ? jobView(job) : null;
      },
    },
    Card: {
      mergedInto: async (card: CardDoc, _a, context) => (card.mergedInto ? ((await readableCards(await requireActor(context), [card.mergedInto]))[0] ?? null) : null),
      mergedIntoTitle: async (card: CardDoc, _a, context) => {
        if (!card.mergedInto) return null;
        const merge = await mergeOfCard(card._id);
        return merge && survivorTitle(await requireActor(context), merge);
      },
      duplicateGroup: async (card: CardDoc, _a, context) => {
        const actor = await requireActor(context);
        return !card.inTrash && mayHandleDuplicates(actor) ? groupsOfPageCards(context, actor).load(String(card._id)) : null;
      },
      merge: async (card: CardDoc, _a, context) => {
        if (!card.mergedInto) return null;
        const merge = await mergeOfCard(card._id);
        return merge && findMerge(await requireActor(context), String(merge._id));
      },
    },
  },
};
