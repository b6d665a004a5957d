import type DataLoader from 'dataloader';
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { Actor } from '../access/actor';
import { GraphQLScalarType, Kind, type FieldNode, type GraphQLResolveInfo } from 'graphql';
import { JSONObjectResolver } from 'graphql-scalars';
import { cardTargets, fieldKinds, type CardTypeDefinition, type FieldDefinition } from '../../../card-types';
import { settingsSchemaOf } from '../../../card-types/definitions';
import { findCardType, listCardTypes } from '../card-types/registry';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import { DEFAULT_PAGE_SIZE, isObjectIdText, refuseField } from '../validation';
import { perRequest } from '../graphql/loaders';
import { selectedFieldNames } from '../graphql/selection';
import { accessSnapshot } from '../access/snapshot';
import type { GraphQLModule } from '../graphql/module';
import { CARD_INDEX_BUDGET, cardIndexNames, uniqueNotEnforced, uniqueNotEnforcedReason } from './indexes';
import { projectionForFields, WITHOUT_SEARCH_FIELDS, type CardDoc } from './model';
import { listedType, rowsListed } from './listed';
import { cardRead } from './reads';
import { idText } from './id-text';
import { openCursor, sealCursor } from './cursor';
import {
  listFolderCards,
  referenceLoader,
  relatedCards,
  searchCardPages,
  searchCards,
  trashedCards,
  trashPage,
  type Connection,
  type ListOptions,
  type ReferencedCard,
} from './queries';
import { searchIndexing } from './search';
import { createCard, findCard, findCards, findCardsWithinBudget, keptValues, moveCard, purgeCard, setCardTrashed, shownValues, updateCard } from './service';
import { previewCardTypeChange, saveCardTypeDefinition, type FieldChangeReport, type SavedCardType } from './type-admin';
import { unsettledTypeChange } from './type-rewrite';

type Id = { id: string };

const MAX_IDS = 200;

/** What a `cards` query's read leaves out of each card, by the fields its `edges { node }` select (per query document). */
const projections = new WeakMap<FieldNode, Record<string, 0>>();
function cardsProjection(info: GraphQLResolveInfo): Record<string, 0> {
  let projection = projections.get(info.fieldNodes[0]!);
  if (!projection) {
    projection = projectionForFields(selectedFieldNames(info, ['edges', 'node']));
    projections.set(info.fieldNodes[0]!, projection);
  }
  return projection;
}

/** The ids list a cursor of cards by id belongs to, in short: a cursor of one list is refused with another. */
const idsListKey = (ids: readonly string[]): string => createHash('sha256').update(ids.join(',').toLowerCase()).digest('base64url').slice(0, 12);

/** A cursor of cards by id: which list, and how many of its ids come before it. */
const idsCursor = (list: string, covered: number) => sealCursor(['ids', list, covered]);

/** An edge of cards by id, its cursor sealed only when asked for (an encryption; the client asks for none). */
class IdsEdge {
  constructor(
    readonly node: CardDoc,
    private readonly list: string,
    private readonly position: number,
  ) {}

  get cursor(): string {
    return idsCursor(this.list, this.position);
  }
}

function idsCovered(actor: Actor, cursor: string, list: string, asked: number): number {
  const decoded = openCursor(cursor, 100);
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== 'ids' || decoded[1] !== list) return refuseField(actor.locale, 'after', 'badCursor');
  const covered = decoded[2] as unknown;
  if (!Number.isInteger(covered) || (covered as number) < 0 || (covered as number) > asked) return refuseField(actor.locale, 'after', 'badCursor');
  return covered as number;
}

/** What cards by id leave out to count them: all but the fields of `findCard`'s check. */
const COUNTED_ONLY = { ...WITHOUT_SEARCH_FIELDS, values: 0, fieldChangedAt: 0, createdBy: 0, updatedBy: 0, trashedBy: 0 } as const;

/**
 * Cards by id as a connection (the client's batch of referenced or related cards, the rows of an
 * open list): in the order asked, as far as a reply's budget goes (./budget) — then `hasNextPage`,
 * and the same ids asked again `after` the `endCursor` bring the rest. `totalCount`: the cards
 * found of all the ids asked (those the reader may see), whatever reply it is asked of.
 */
async function cardsByIds(actor: Actor, ids: string[], after: string | null | undefined, projection: Record<string, 0>) {
  if (ids.length > MAX_IDS) refuseField(actor.locale, 'ids', 'tooMany', { max: MAX_IDS });
  if (!ids.every(isObjectIdText)) refuseField(actor.locale, 'ids', 'badId');
  const list = idsListKey(ids);
  const from = after ? idsCovered(actor, after, list, ids.length) : 0;
  const found = await findCardsWithinBudget(
    actor,
    ids.slice(from).map((id) => new Types.ObjectId(id)),
    { includeTrash: true, projection },
  );
  const edges = found.flatMap((node, i) => (node ? [new IdsEdge(node, list, from + i + 1)] : []));
  const covered = from + found.length;
  const totalCount = async () => (await findCards(actor, ids, { includeTrash: true, projection: COUNTED_ONLY })).length;
  return { edges, pageInfo: { hasNextPage: covered < ids.length, endCursor: idsCursor(list, covered) }, totalCount };
}

/** An input as the kernel reads definitions: a property left null is a property not given. */
function withoutNulls(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(withoutNulls);
  if (input === null || typeof input !== 'object') return input;
  return Object.fromEntries(
    Object.entries(input)
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, withoutNulls(value)]),
  );
}

// One loader per request, so a page of cards costs one query for all referenced titles.
async function references(context: GraphQLContext): Promise<DataLoader<string, ReferencedCard>> {
  const actor: Actor = await context.actor();
  return perRequest(context, 'references', () => referenceLoader(actor));
}

const serviceContext = async (context: GraphQLContext) => ({ actor: await requireActor(context), logger: context.logger });

export const cardsModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type LocalizedText { ru: String!, en: String! }
    "Text in both languages; English may be left out or empty, and is then the Russian text."
    input LocalizedTextInput { ru: String!, en: String }

    "Whom a required field binds: every card, or new cards and edits that touch the field only."
    enum RequiredFor {
      all
      "Accepted when the field became required while cards lacked a value: those cards are not refused an edit that leaves the field alone."
      newAndEdited
    }

    "Where a type, a field or a tab comes from: the code of Kartoteka (built-in) or an administrator."
    enum Origin { code admin }

    "A limit of a field: a number (a length in characters, a whole number) or text (a decimal, a date, a date-time)."
    scalar Limit

    "Card values by field key in their stored form (the card-type kernel's CardValues): empty fields are absent, decimals and money are strings."
    scalar CardValues

    type EnumOption { value: String!, label: LocalizedText! }
    input EnumOptionInput { value: String!, label: LocalizedTextInput! }

    """
    A field of a card type: what every field has, and the settings of its kind (null where its kind has
    none; a plugin's kind may add its own settings to this type).
    """
    type Field {
      "Latin, from a lower-case letter; the card values' key; never changes."
      key: String!
      "A field kind's key (fieldKinds lists those the server knows)."
      kind: String!
      label: LocalizedText!
      required: Boolean!
      "Null for a field that is not required."
      requiredFor: RequiredFor
      unique: Boolean!
      help: LocalizedText
      section: LocalizedText
      order: Int
      listed: Boolean!
      "A removed field: its values are kept on the cards (out of Card.values and search), it can come back."
      hidden: Boolean!
      origin: Origin
      "Properties of a built-in field an administrator changed."
      customized: [String!]
      "The value of a new card: a value of the field's kind as in CardValues (\`today\` and \`now\` for dates and times)."
      default: JSON
      min: Limit
      max: Limit
      "Digits after the point of decimals and money."
      scale: Int
      "A regular expression the whole value must match."
      pattern: String
      patternMessage: LocalizedText
      options: [EnumOption!]
      multiple: Boolean
      "Card type keys a reference may point to."
      targets: [String!]
    }

    input FieldInput {
      key: String!
      kind: String!
      label: LocalizedTextInput!
      required: Boolean
      requiredFor: RequiredFor
      unique: Boolean
      help: LocalizedTextInput
      section: LocalizedTextInput
      order: Int
      listed: Boolean
      hidden: Boolean
      origin: Origin
      customized: [String!]
      default: JSON
      min: Limit
      max: Limit
      scale: Int
      pattern: String
      patternMessage: LocalizedTextInput
      options: [EnumOptionInput!]
      multiple: Boolean
      targets: [String!]
      """
      Not stored: a value (as in CardValues) written, when the change is saved, into every card of the
      type that lacks one — the way to make a field required while cards have no value for it.
      """
      fillMissing: JSON
    }

    "A tab listing the cards of cardType whose referenceField points to this card."
    type RelatedTab { key: String!, label: LocalizedText!, cardType: String!, referenceField: String!, origin: Origin }
    input RelatedTabInput { key: String!, label: LocalizedTextInput!, cardType: String!, referenceField: String!, origin: Origin }

    type CardType {
      key: ID!
      names: LocalizedText!
      "Field keys in braces and text: {number} от {date}."
      titleTemplate: String!
      historyEnabled: Boolean!
      icon: String
      colour: String
      origin: Origin!
      "The plugin whose code defines the type (origin is then code); null for the core's and administrators' types."
      plugin: String
      "Properties of a built-in type an administrator changed."
      customized: [String!]
      "The stored revision: every save adds one. updateCardType must send the revision its change was made from."
      version: Int!
      "Every field, hidden ones included, in the definition's order (order sets the form's)."
      fields: [Field!]!
      relatedTabs: [RelatedTab!]!
      """
      Administrators (null for everyone else): the background job applying a saved change of this
      type to its cards — converted and filled-in values, titles, search text — with its progress.
      From createCardType/updateCardType: the job that save started, null when it touched no card
      (the change is then complete). Elsewhere: the type's latest such job while it is queued or
      running, or when it failed (Job.errorMessage says what happened, retryJob continues it), else null.
      """
      changeJob: Job
      """
      Administrators (null for everyone else): unique fields whose values the database does not keep
      unique, because creating their index failed (reported at start instead of stopping the server):
      see uniqueNotEnforcedReason. Saving the type again runs the dry run over them as fields
      becoming unique, listing the values cards share.
      """
      uniqueNotEnforced: [String!]
      "Administrators, when uniqueNotEnforced lists fields (null otherwise): why their unique indexes are missing."
      uniqueNotEnforcedReason: UniqueNotEnforcedReason
    }

    enum UniqueNotEnforcedReason {
      "Cards of the type already share values of the fields: resolve the duplicates, then save the type again."
      DUPLICATES
      "The cards collection has as many indexes as MongoDB allows (64): make other fields not unique or not listed, then save the type again."
      INDEX_LIMIT
    }

    "A card type as an administrator defines it; messages about it come by the paths of this shape (fields.2.key)."
    input CardTypeInput {
      key: String!
      names: LocalizedTextInput!
      titleTemplate: String!
      historyEnabled: Boolean!
      icon: String
      colour: String
      origin: Origin!
      customized: [String!]
      """
      updateCardType: the version of the type the change was made from (required); when the type has
      been saved since, the change is refused (CONFLICT) rather than undoing that save.
      """
      version: Int
      fields: [FieldInput!]!
      relatedTabs: [RelatedTabInput!]
    }

    "A field kind the server knows: what the type designer offers."
    type FieldKind {
      key: String!
      labels: LocalizedText!
      "The names of the kind's own settings (Field's min, options, targets …)."
      settings: [String!]!
    }

    "A card another card's field points to; title is null when the reader may not see it («нет доступа»)."
    type CardReference {
      fieldKey: String!
      id: ID!
      typeKey: String
      title: String
      accessible: Boolean!
      "The referenced card is in the trash; the reference stays until someone changes it."
      inTrash: Boolean!
      "No card has this id any more: it was deleted for good (title is null, accessible false)."
      deleted: Boolean!
    }

    type Card {
      id: ID!
      typeKey: String!
      type: CardType
      folderId: ID!
      folder: Folder
      title: String!
      "Stored values by field key; empty fields are absent. Decimals and money are strings. Values of hidden fields are left out (and are not found by search)."
      values: CardValues!
      "Administrators: the values kept under hidden (removed) fields; null for everyone else."
      hiddenValues: CardValues
      version: Int!
      createdAt: DateTime!
      updatedAt: DateTime!
      createdBy: User
      updatedBy: User
      inTrash: Boolean!
      trashedAt: DateTime
      references: [CardReference!]!
    }

    type CardEdge { node: Card!, cursor: String! }
    type CardConnection { edges: [CardEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
    type SearchHit { card: Card!, exact: Boolean! }
    type SearchHitEdge { node: SearchHit!, cursor: String! }
    "All results of a search, a page at a time."
    type SearchConnection {
      edges: [SearchHitEdge!]!
      pageInfo: PageInfo!
      "Cards found. A lower bound («не менее N») when totalExact is false."
      totalCount: Int!
      """
      False when more cards had the query's rarest word than a search looks at (5,000): more cards may
      match than totalCount, and the pages end there — a more precise query finds them.
      """
      totalExact: Boolean!
    }

    "Cards stored before word search are being given their words (a background job after an upgrade): until it ends a search may miss some of them."
    type SearchIndexing {
      "How much of the stored cards the job went through, 0–99; null while not known yet."
      percent: Int
    }

    "What a field change would do to stored cards."
    type FieldChangeReport {
      key: String!
      allowed: Boolean!
      refusal: String
      safe: Boolean!
      "How many cards' values would be rewritten into the new form or filled in."
      updates: Int!
      "Values that would not convert or would break new limits: the first \`first\` (at most 200) of failureCount."
      failures(first: Int = 200): [ValueFailure!]!
      failureCount: Int!
      """
      Cards that would lack a value of a field that becomes required — a field made required, a new
      required field, a hidden required field shown again (listing the cards created while it was
      hidden) — after any fillMissing value: the first \`first\` (at most 200, in the order of card ids) of missingCount.
      """
      missing(first: Int = 200): [ID!]!
      missingCount: Int!
      "The missing cards may stay without a value: the field is required for new and edited cards only (requiredFor: newAndEdited)."
      missingAccepted: Boolean!
      "Cards sharing a value, when the field becomes unique: the first \`first\` (at most 200) groups of duplicateCount, with up to 1,000 card ids in all."
      duplicates(first: Int = 200): [DuplicateGroup!]!
      duplicateCount: Int!
      """
      Values that convert, but into something that reads differently («007», «1 000», «12.0» becoming
      the number 7, 1000, 12; text losing its spaces): the first \`first\` (at most 200) distinct ones, of alteredCount cards.
      Such a change is not safe until accepted (acceptAlteredValues).
      """
      altered(first: Int = 200): [AlteredValue!]!
      alteredCount: Int!
      "The altered values are accepted (acceptAlteredValues: true)."
      alteredAccepted: Boolean!
    }
    "A stored value a conversion would change in what a person reads: as shown now and after the change (in the reader's language), and how many cards hold it."
    type AlteredValue { value: JSON, was: String!, becomes: String!, cards: Int! }
    "A stored value that would not fit the changed field, and why (in the reader's language)."
    type ValueFailure { cardId: ID!, value: JSON, reason: String! }
    "Cards sharing a value of a field that becomes unique."
    type DuplicateGroup { value: JSON!, cardIds: [ID!]! }
    type SchemaChangeReport {
      "Nothing would be lost or violated: the change may be saved."
      safe: Boolean!
      "Field changes that read or write values (presentation-only changes are not listed)."
      fields: [FieldChangeReport!]!
      "Fields the change hides: their values stay on the cards, out of reads and search."
      hiddenFields: [String!]!
      "Hidden fields the change shows again."
      restoredFields: [String!]!
      "Related tabs the change removes."
      removedTabs: [RelatedTab!]!
      "A safe dry run of an existing type: pass it to updateCardType(checkId:) so the save need not read every card again. Null when not safe."
      checkId: ID
    }

    enum CardFilterOp { contains equals range in empty notEmpty tags }
    input CardFilterInput { field: String!, op: CardFilterOp!, value: String, values: [String!], from: String, to: String }

    "How many of the cards collection's indexes are taken, of those card types may take."
    type CardIndexUse {
      "Indexes the cards collection has now (Kartoteka's own among them)."
      inUse: Int!
      "How many it may have for card types' fields: MongoDB allows 64 a collection, 4 are kept for Kartoteka."
      budget: Int!
    }

    extend type Query {
      cardTypes: [CardType!]!
      "Administrators (null for others): each shown unique field takes an index, and so does each listed or reference field key no type had."
      cardIndexUse: CardIndexUse
      cardType(key: ID!): CardType
      """
      Null both when the card does not exist and when the viewer may not read it (no read access to
      its folder, or in the trash without full access there — a card merged into another stays
      readable there): the two answer alike, so a hidden card's existence is not revealed. Mutations
      answer NOT_FOUND for both likewise.
      """
      card(id: ID!): Card
      """
      A folder's cards, a page at a time (folderId; first: 50 when left out); or the cards with these
      ids (ids, at most 200), in that order, leaving out those the viewer may not read, as far as a
      reply's 2,000,000 characters of values asked for go (a reply that asks no values has all): with hasNextPage, the same ids asked again after
      endCursor bring the rest (another list's cursor is refused); totalCount is the cards found of all
      the ids asked. With ids, first, sorting and filtering are refused (they do not apply). A hidden
      field can be neither filtered nor sorted by (noSuchField), and a filter on a key that another of
      the folder's types hides never reads that type's values (its cards show the field empty).
      """
      cards(folderId: ID, ids: [ID!], first: Int, after: String, sortBy: String, descending: Boolean, filters: [CardFilterInput!]): CardConnection!
      "A related tab's cards (those of the tab's type pointing at this card), by title, first (at most 500) at a time after the cursor after."
      relatedCards(cardId: ID!, tab: String!, first: Int = 50, after: String): CardConnection!
      trash(first: Int = 100): [Card!]!
      "The trash a page at a time (first, at most 200), the latest deleted first: cards the viewer may restore, in one folder or all, those having every word of search."
      trashPage(first: Int = 50, after: String, folderId: ID, search: String): CardConnection!
      "The best hits of a search, at most first (100): as one types."
      search(query: String!, libraryId: ID, first: Int = 30): [SearchHit!]!
      "Null when every stored card is found by its words; otherwise search results may be incomplete."
      searchIndexing: SearchIndexing
      """
      All results of a search («Все результаты»), first (at most 100) at a time after the cursor after:
      best title matches first, then by title. Exact hits (INN, phone, e-mail) answer alone.
      """
      searchResults(query: String!, libraryId: ID, first: Int = 50, after: String): SearchConnection!
      "Administrators: the dry run of saving this card type definition (completed from the stored type as updateCardType does)."
      cardTypeChangePreview(definition: CardTypeInput!, acceptAlteredValues: Boolean = false): SchemaChangeReport!
      "The field kinds the server knows (built-in and from plugins), in the designer's order."
      fieldKinds: [FieldKind!]!
    }

    extend type Mutation {
      createCard(folderId: ID!, typeKey: String!, values: JSON!): Card!
      "Changed fields only (null empties a field), based on the version the user edited."
      updateCard(id: ID!, version: Int!, values: JSON!): Card!
      moveCard(id: ID!, folderId: ID!, version: Int!): Card!
      deleteCard(id: ID!): Card!
      restoreCard(id: ID!): Card!
      "Administrators: removes a card from the trash for good (its history stays); recorded in the audit log with the card as it was."
      purgeCard(id: ID!): Boolean!
      "Administrators: defines a new card type; its name must differ from every other type's (in each language). Recorded in the audit log."
      createCardType(definition: CardTypeInput!): CardType!
      """
      Administrators: changes a type. A partial definition is merged, never taken as a removal: fields
      left out stay as they are stored, and relatedTabs left out (null) stay as stored. To hide a field
      send it with hidden: true; to remove tabs send relatedTabs without them. Refused (BAD_USER_INPUT
      with the dry run as extensions.report) when values would be lost or violated — including cards
      lacking a value of a field that becomes required, unless the field has a fillMissing value or
      requiredFor: newAndEdited. Recorded in the audit log with the definition before and after.
      checkId: the dry run's (cardTypeChangePreview) for exactly this definition; while the type is
      stored as it was then (and for an hour), the save checks again only the cards changed since
      instead of every card. An unknown or outdated one costs the whole check, never a wrong answer.
      acceptAlteredValues: the administrator saw the dry run's altered values and accepts them (else such a change is refused).
      """
      updateCardType(definition: CardTypeInput!, checkId: ID, acceptAlteredValues: Boolean = false): CardType!
    }
  `,
  resolvers: {
    Query: {
      cardTypes: async (_p, _a, context) => {
        await requireActor(context);
        return listCardTypes();
      },
      cardIndexUse: async (_p, _a, context) =>
        (await requireActor(context)).isAdmin ? { inUse: (await perRequest(context, 'cardIndexNames', cardIndexNames)).size, budget: CARD_INDEX_BUDGET } : null,
      cardType: async (_p, { key }: { key: string }, context) => {
        await requireActor(context);
        return findCardType(key);
      },
      card: async (_p, { id }: Id, context) => findCard(await requireActor(context), id, { includeTrash: true }),
      cards: async (_p, { folderId, ids, ...options }: Omit<ListOptions, 'first'> & { first?: number | null; folderId?: string | null; ids?: string[] | null }, context, info) => {
        const actor = await requireActor(context);
        if (ids) {
          const { after, ...listOnly } = options;
          const given = Object.entries({ folderId, ...listOnly }).find(([, value]) => value !== undefined && value !== null);
          if (given) refuseField(actor.locale, given[0], 'notWithIds');
          return cardsByIds(actor, ids, after, cardsProjection(info));
        }
        if (!folderId) refuseField(actor.locale, 'folderId', 'required');
        const page = await listFolderCards(actor, folderId!, { ...options, first: options.first ?? DEFAULT_PAGE_SIZE }, cardsProjection(info));
        await rowsListed(context, page.types);
        return page;
      },
      relatedCards: async (_p, { cardId, tab, ...page }: { cardId: string; tab: string; first: number; after?: string | null }, context, info) =>
        relatedCards(await requireActor(context), cardId, tab, page, cardsProjection(info)),
      trash: async (_p, { first }: { first: number }, context) => trashedCards(await requireActor(context), first),
      trashPage: async (_p, args: { first: number; after?: string; folderId?: string; search?: string }, context, info) =>
        trashPage(await requireActor(context), args, cardsProjection(info)),
      // Each hit keeps the query: the files module tells which of the card's files it was found in.
      search: async (_p, args: { query: string; libraryId?: string; first: number }, context) =>
        (await searchCards(await requireActor(context), args.query, { libraryId: args.libraryId, first: args.first })).map((hit) => ({ ...hit, query: args.query })),
      searchIndexing: async (_p, _a, context) => {
        await requireActor(context);
        return searchIndexing();
      },
      searchResults: async (_p, args: { query: string; libraryId?: string; first: number; after?: string }, context) => {
        const page = await searchCardPages(await requireActor(context), args.query, args);
        return {
          edges: page.cards.map(({ card, cursor }) => ({ node: { card, exact: page.exact, query: args.query }, cursor })),
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cards.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
          totalExact: page.totalExact,
        };
      },
      cardTypeChangePreview: async (_p, { definition, acceptAlteredValues }: { definition: object; acceptAlteredValues?: boolean | null }, context) =>
        previewCardTypeChange(await requireActor(context), withoutNulls(definition), { acceptAltered: acceptAlteredValues === true }),
      fieldKinds: async (_p, _a, context) => {
        await requireActor(context);
        return fieldKinds().map((kind) => ({ key: kind.key, labels: kind.labels, settings: Object.keys(settingsSchemaOf(kind)) }));
      },
    },
    Mutation: {
      createCard: async (_p, input: { folderId: string; typeKey: string; values: Record<string, unknown> }, context) => createCard(await serviceContext(context), input),
      updateCard: async (_p, { id, ...input }: Id & { version: number; values: Record<string, unknown> }, context) => updateCard(await serviceContext(context), id, input),
      moveCard: async (_p, { id, ...input }: Id & { folderId: string; version: number }, context) => moveCard(await serviceContext(context), id, input),
      deleteCard: async (_p, { id }: Id, context) => setCardTrashed(await serviceContext(context), id, true),
      restoreCard: async (_p, { id }: Id, context) => setCardTrashed(await serviceContext(context), id, false),
      purgeCard: async (_p, { id }: Id, context) => purgeCard(await serviceContext(context), id),
      createCardType: async (_p, { definition }: { definition: object }, context) => saveCardTypeDefinition(await requireActor(context), withoutNulls(definition), { isNew: true }),
      updateCardType: async (_p, { definition, checkId, acceptAlteredValues }: { definition: object; checkId?: string | null; acceptAlteredValues?: boolean | null }, context) => {
        const actor = await requireActor(context);
        if (checkId && !isObjectIdText(checkId)) refuseField(actor.locale, 'checkId', 'badId');
        return saveCardTypeDefinition(actor, withoutNulls(definition), { isNew: false, checkId, acceptAltered: acceptAlteredValues === true });
      },
    },
    CardConnection: {
      // Counted only when asked for: a count costs a scan of the folder's index range.
      totalCount: (connection: Connection<CardDoc>) => connection.totalCount(),
    },
    FieldChangeReport: {
      failures: (report: FieldChangeReport, { first }: { first: number }) => report.failures.slice(0, Math.max(0, first)),
      missing: (report: FieldChangeReport, { first }: { first: number }) => report.missing.slice(0, Math.max(0, first)),
      duplicates: (report: FieldChangeReport, { first }: { first: number }) => report.duplicates.slice(0, Math.max(0, first)),
      altered: (report: FieldChangeReport, { first }: { first: number }) => report.altered.slice(0, Math.max(0, first)),
    },
    CardType: {
      version: (type: CardTypeDefinition) => type.version ?? 0,
      relatedTabs: (type: CardTypeDefinition) => type.relatedTabs ?? [],
      changeJob: async (type: SavedCardType, _a: unknown, context: GraphQLContext) => {
        if (!(await requireActor(context)).isAdmin) return null;
        return type.changeJob !== undefined ? type.changeJob : unsettledTypeChange(type.key);
      },
      uniqueNotEnforced: async (type: CardTypeDefinition, _a: unknown, context: GraphQLContext) => {
        if (!(await requireActor(context)).isAdmin) return null;
        return uniqueNotEnforced(type, await perRequest(context, 'cardIndexNames', cardIndexNames));
      },
      uniqueNotEnforcedReason: async (type: CardTypeDefinition, _a: unknown, context: GraphQLContext) => {
        if (!(await requireActor(context)).isAdmin) return null;
        const names = await perRequest(context, 'cardIndexNames', cardIndexNames);
        return uniqueNotEnforced(type, names).length > 0 ? { duplicates: 'DUPLICATES', indexLimit: 'INDEX_LIMIT' }[uniqueNotEnforcedReason(names)] : null;
      },
    },
    Field: {
      required: (field: FieldDefinition) => field.required === true,
      requiredFor: (field: FieldDefinition) => (field.required ? (field.requiredFor ?? 'all') : null),
      unique: (field: FieldDefinition) => field.unique === true,
      listed: (field: FieldDefinition) => field.listed === true,
      hidden: (field: FieldDefinition) => field.hidden === true,
    },
    Limit: new GraphQLScalarType({
      name: 'Limit',
      serialize: (value) => value,
      parseValue: (value) => {
        if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
        throw new TypeError('A limit is a number or text');
      },
      parseLiteral: (ast) => {
        if (ast.kind === Kind.STRING) return ast.value;
        if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
        throw new TypeError('A limit is a number or text');
      },
    }),
    CardValues: new GraphQLScalarType({ ...JSONObjectResolver.toConfig(), name: 'CardValues', description: undefined }),
    // A page's cursor carries its card's sort value in clear (the title, a field's value): sending it counts as reading the card.
    CardEdge: {
      cursor: (edge: { node: CardDoc; cursor: string }, _a: unknown, context: GraphQLContext) => {
        cardRead(context, idText(edge.node._id));
        return edge.cursor;
      },
    },
    SearchHitEdge: {
      cursor: (edge: { node: { card: CardDoc }; cursor: string }, _a: unknown, context: GraphQLContext) => {
        cardRead(context, String(edge.node.card._id));
        return edge.cursor;
      },
    },
    Card: {
      id: (card: CardDoc) => idText(card._id),
      // A card's title (a company's or a person's name) is the client base as much as its values: both count as read.
      title: (card: CardDoc, _a: unknown, context: GraphQLContext) => {
        cardRead(context, idText(card._id));
        return card.title;
      },
      values: (card: CardDoc, _a: unknown, context: GraphQLContext) => {
        cardRead(context, idText(card._id));
        const type = listedType(card, context);
        return type ? shownValues(type, card.values) : findCardType(card.typeKey).then((found) => shownValues(found, card.values));
      },
      hiddenValues: async (card: CardDoc, _a, context) => ((await context.actor()).isAdmin ? keptValues(await findCardType(card.typeKey), card.values) : null),
      folderId: (card: CardDoc) => String(card.folderId),
      type: (card: CardDoc) => findCardType(card.typeKey),
      folder: async (card: CardDoc) => (await accessSnapshot()).folders.get(String(card.folderId)) ?? null,
      // Authors from the access snapshot: no query for them.
      createdBy: async (card: CardDoc) => (await accessSnapshot()).users.get(String(card.createdBy)) ?? null,
      updatedBy: async (card: CardDoc) => (await accessSnapshot()).users.get(String(card.updatedBy)) ?? null,
      references: (card: CardDoc, _a, context) => {
        const listed = listedType(card, context);
        // A listed row whose type refers to no card, or whose references are empty, has none.
        if (listed && !referenceFields(listed).some((field) => card.values[field.key] !== undefined)) return [];
        return referencesOf(card, context);
      },
    },
  },
};

/** The fields of a type that point to cards, per definition (a definition is never changed once loaded): a page's rows share them. */
const referenceFieldsOfType = new WeakMap<CardTypeDefinition, FieldDefinition[]>();

function referenceFields(type: CardTypeDefinition | null): FieldDefinition[] {
  if (!type) return [];
  let fields = referenceFieldsOfType.get(type);
  if (!fields) {
    fields = (type.fields ?? []).filter((field) => cardTargets(field));
    referenceFieldsOfType.set(type, fields);
  }
  return fields;
}

/** The cards a card's reference fields name, as the reader may see them (a batch per request). */
async function referencesOf(card: CardDoc, context: GraphQLContext): Promise<ReferencedCard[]> {
  const pairs = referenceFields(await findCardType(card.typeKey))
    .filter((field) => card.values[field.key] !== undefined)
    .flatMap((field) => [card.values[field.key]].flat().map((id) => ({ fieldKey: field.key, id: String(id) })));
  const loader = await references(context);
  const loaded = (await loader.loadMany(pairs.map((p) => p.id))) as ReferencedCard[];
  for (const referenced of loaded) if (referenced.title !== null) cardRead(context, referenced.id);
  return pairs.map((pair, index) => ({ ...loaded[index], fieldKey: pair.fieldKey }));
}
