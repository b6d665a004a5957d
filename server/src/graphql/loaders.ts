import type { GraphQLContext } from './context';

const perContext = new WeakMap<GraphQLContext, Map<string, unknown>>();

/** One instance per request: DataLoaders batch and cache within a single GraphQL response only. */
export function perRequest<T>(context: GraphQLContext, key: string, create: () => T): T {
  let cache = perContext.get(context);
  if (!cache) {
    cache = new Map();
    perContext.set(context, cache);
  }
  if (!cache.has(key)) cache.set(key, create());
  return cache.get(key) as T;
}
