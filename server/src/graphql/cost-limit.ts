import { GraphQLError, getNamedType, getOperationAST, getVariableValues, isCompositeType, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { message } from '../i18n';
import { DEFAULT_PAGE_SIZE, MAX_MERGED } from '../validation';
import type { GraphQLContext } from './context';

/**
 * The cost limit: a request is refused before it runs when it would touch too much. A field with a
 * selection costs 2 plus 1.5 × its selection, times the rows it returns; a scalar costs 1. The rows
 * are what the field will really return — the larger of `first`/`last` and the length of `ids` —
 * as the request sets them: written out, passed in variables or left at the schema's default; a
 * list whose `first` has no default (`cards`, which takes `ids` instead) counts the page the
 * server then returns, and a list without `first` the rows it returns at most. Aliases add up: 50 aliased `cards(ids:)` with 200
 * ids each cost 10,000 cards.
 */
const rows = (args: Record<string, unknown>, pages: boolean, fixed = 1): number => {
  const unset = pages && args.first === undefined && args.last === undefined && args.ids === undefined;
  const counts = [fixed, unset ? DEFAULT_PAGE_SIZE : 0, args.first, args.last, Array.isArray(args.ids) ? args.ids.length : 0];
  return Math.max(...counts.filter((count): count is number => typeof count === 'number'));
};

/**
 * Lists that take no `first`, by the rows they return at most: a merge's merged cards; a file's versions, by as many as a much-edited file has (a version holds the same
 * list again: counted as one row, 5 levels of a 10-version file's versions were 100,000 files to
 * answer — s12 attacks A8, A9 — now two levels fit in a request, three do not).
 */
const FIXED_ROWS: Record<string, number> = { 'CardMerge.merged': MAX_MERGED, 'StoredFile.versions': 20 };

/**
 * Fields whose work is not told by the rows they return, and what they cost besides: a search by
 * words may look at 10,000 cards for a page of 30 (cards/search.ts) — two searches fit in a
 * request, a third is refused.
 */
const SEARCH_WORK = 10_000;
/**
 * Checking a card's history, reading the card as it was and reverting it to then read every entry of
 * it since (50 aliased checks of a 600-save card took 192 s and 2 GB: s12 attack A10; 50 aliased
 * readings as of 2020 filled the heap: its re-attack B2).
 */
const HISTORY_WORK = SEARCH_WORK;
const WORK: Record<string, number> = {
  'Query.search': SEARCH_WORK,
  'Query.searchResults': SEARCH_WORK,
  'Query.verifyHistory': HISTORY_WORK,
  'Query.cardAsOf': HISTORY_WORK,
  'Mutation.revertCard': HISTORY_WORK,
};

/** The orders of a folder's list an index serves whatever the card type (cards/model.ts). */
const INDEXED_SORTS = new Set(['title', 'createdAt', 'updatedAt']);

/**
 * Lists whose arguments may make the database read far more than the rows they return cost what a
 * search costs besides, so a request holds two: a folder's cards filtered (a `contains` filter is
 * a regex no index serves: a page of 1 that nothing matches reads every card of the folder, and so
 * does its `totalCount`) or ordered by a field (unless the type lists the field, no index serves
 * it: the folder's cards are sorted for a page), and the trash searched by words (s12 attack A3:
 * 50 aliased pages of 1 card with a filter nothing matched held the database 107 s).
 */
function scanningWork(field: string, args: Record<string, unknown>): number {
  if (field === 'Query.cards') {
    const filtered = Array.isArray(args.filters) && args.filters.length > 0;
    const sorted = typeof args.sortBy === 'string' && !INDEXED_SORTS.has(args.sortBy);
    return filtered || sorted ? SEARCH_WORK : 0;
  }
  if (field === 'Query.trashPage') return typeof args.search === 'string' && args.search.trim() !== '' ? SEARCH_WORK : 0;
  return 0;
}

const estimator: ComplexityEstimator = ({ type, field, node, args, childComplexity }) => {
  if (node.name.value === '__schema') return 0;
  if (!isCompositeType(getNamedType(field.type))) return 1;
  const key = `${type.name}.${field.name}`;
  return (
    (WORK[key] ?? 0) +
    scanningWork(key, args) +
    (2 + 1.5 * childComplexity) *
      rows(
        args,
        field.args.some((arg) => arg.name === 'first'),
        FIXED_ROWS[`${type.name}.${field.name}`],
      )
  );
};

/**
 * The cost of a request, or null when its variables do not fit their types (execution refuses
 * those, naming them). A query too large to estimate costs more than any limit.
 */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName?: string | null): number | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors) return null;
  try {
    return getComplexity({ estimators: [estimator], schema, query: document, variables, operationName: operationName ?? undefined });
  } catch (error) {
    if (error instanceof GraphQLError) return Infinity;
    throw error;
  }
}

/**
 * What of a request's variables its cost depends on: `first`, `last` and the length of `ids` are
 * numbers and lists, `@include`/`@skip` booleans, a list's order (`sortBy`) and whether a trash
 * search is empty are short strings; ids and cursors read alike here.
 */
const variableShape = (variables: Record<string, unknown>) =>
  JSON.stringify(variables, (_key, value: unknown) => {
    if (typeof value !== 'string') return value;
    // A blank search costs as an empty one; the others are neither empty nor an order an index
    // serves: each costs as the string did (a blank of 65 spaces and a 65-character search both read
    // «#long», and a document first sent blank ran 50 trash searches at its price: s12 re-attack B3).
    if (value.trim() === '') return '';
    if (/^[0-9a-f]{24}$/.test(value)) return '#id';
    return value.length > 64 ? '#long' : value;
  });
/** Costs remembered per document and operation, by the shape of their variables, at most this many. */
const SHAPES_PER_DOCUMENT = 64;
const LONGEST_SHAPE = 4096;

/**
 * `queryCost`, remembered: yoga parses a query once and gives every request with its text the same
 * document, so the folder page's traversal of its query is done once per shape of its variables,
 * not on every request. Refusals (null: variables that do not fit) are not remembered.
 */
function rememberingCosts(): (schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName?: string | null) => number | null {
  const known = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
  return (schema, document, variables, operationName) => {
    const shape = `${operationName ?? ''} ${variableShape(variables)}`;
    if (shape.length > LONGEST_SHAPE) return queryCost(schema, document, variables, operationName);
    let bySchema = known.get(schema);
    if (!bySchema) known.set(schema, (bySchema = new WeakMap()));
    let costs = bySchema.get(document);
    if (!costs) bySchema.set(document, (costs = new Map()));
    const remembered = costs.get(shape);
    if (remembered !== undefined) return remembered;
    const cost = queryCost(schema, document, variables, operationName);
    if (cost === null) return null;
    if (costs.size >= SHAPES_PER_DOCUMENT) costs.delete(costs.keys().next().value!);
    costs.set(shape, cost);
    return cost;
  };
}

export function useCostLimit({ maxCost }: { maxCost: number }): Plugin<GraphQLContext> {
  const costOf = rememberingCosts();
  const refusal = (args: ExecutionArgs): GraphQLError | null => {
    const cost = costOf(args.schema, args.document, args.variableValues ?? {}, args.operationName);
    if (cost === null || cost <= maxCost) return null;
    const { locale } = args.contextValue as GraphQLContext;
    const shown = Number.isFinite(cost) ? Math.ceil(cost) : '∞';
    return new GraphQLError(message(locale, 'tooCostly', { cost: shown, max: maxCost }), { extensions: { code: 'TOO_COSTLY', cost: shown, maxCost } });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
