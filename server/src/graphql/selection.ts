import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * The names of the fields a query may select at `path` below the resolver's own field (e.g.
 * `['edges', 'node']` of a connection), fragments spread in. Fields under `@skip`/`@include` count
 * as selected: the answer may hold more than the request shows, never less. Walked here rather than
 * by graphql-parse-resolve-info, which weighs those directives against the request's variables —
 * the cards' projection is kept per query document (cards/graphql.ts), so it must not depend on
 * them — and whose tree by type name would not make this shorter.
 */
export function selectedFieldNames(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[]): Set<string> {
  const fieldsOf = (sets: readonly SelectionSetNode[]): FieldNode[] => {
    const fields: FieldNode[] = [];
    const visit = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) fields.push(selection);
        else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
        else {
          const fragment = info.fragments[selection.name.value];
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    sets.forEach(visit);
    return fields;
  };
  const setsOf = (fields: readonly FieldNode[]) => fields.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
  let sets = setsOf(info.fieldNodes);
  for (const name of path) sets = setsOf(fieldsOf(sets).filter((field) => field.name.value === name));
  return new Set(fieldsOf(sets).map((field) => field.name.value));
}
