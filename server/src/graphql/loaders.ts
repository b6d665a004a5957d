import DataLoader from 'dataloader';
import { Types } from 'mongoose';
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

/** The part of a mongoose model `loadById` uses. */
interface FindableModel {
  modelName: string;
  find(filter: Record<string, unknown>): { lean<R>(): PromiseLike<R> };
}

/** Documents by id, all the ids asked for in one response fetched with one `$in` query. */
export function loadById<T extends { _id: Types.ObjectId }>(context: GraphQLContext, model: FindableModel, id: unknown): Promise<T | null> {
  const loader = perRequest(
    context,
    `byId:${model.modelName}`,
    () =>
      new DataLoader<string, T | null>(async (ids) => {
        const valid = ids.filter((key) => Types.ObjectId.isValid(key));
        const docs = await model.find({ _id: { $in: valid } }).lean<T[]>();
        const byId = new Map(docs.map((doc) => [String(doc._id), doc]));
        return ids.map((key) => byId.get(key) ?? null);
      }),
  );
  return id ? loader.load(String(id)) : Promise.resolve(null);
}
