/**
 * Plugins' GraphQL extensions: their SDL joins the schema, and each of their resolvers gets a
 * `PluginContext` instead of the server's context. It offers the viewer and card reads that go
 * through the viewer's ability (findCard, findCards, permittedCards), never the database itself.
 */
import type { IResolvers } from '@graphql-tools/utils';
import type { GraphQLResolveInfo } from 'graphql';
import type { Plugin, PluginCard, PluginContext, PluginResolver } from '../../../plugins';
import type { Actor } from '../access/actor';
import { findCardType } from '../card-types/registry';
import type { GraphQLContext } from '../graphql/context';
import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { refuseField } from '../validation';
import { Card, type CardDoc } from './model';
import { permittedCards } from './permitted';
import { enabledPlugins } from './plugins';
import { findCard, findCards, shownValues } from './service';

const MAX_IDS = 200;
const MAX_VALUE_MATCHES = 50;

async function asPluginCard(card: CardDoc): Promise<PluginCard> {
  const type = await findCardType(card.typeKey);
  return { id: String(card._id), typeKey: card.typeKey, folderId: String(card.folderId), title: card.title, values: shownValues(type, card.values ?? {}) };
}

function pluginContext(actor: Actor): PluginContext {
  return {
    viewer: { id: actor.userId, locale: actor.locale },
    card: async (id) => {
      const card = await findCard(actor, id);
      return card ? asPluginCard(card) : null;
    },
    readCards: async (ids) => {
      if (ids.length > MAX_IDS) refuseField(actor.locale, 'ids', 'tooMany', { max: MAX_IDS });
      return Promise.all((await findCards(actor, ids)).map(asPluginCard));
    },
    cardsWithValue: async ({ typeKey, fieldKey, value, first = MAX_VALUE_MATCHES }) => {
      // Only a field the type defines is queried (a key from the plugin never becomes an operator).
      const type = await findCardType(typeKey);
      if (!type?.fields.some((field) => field.key === fieldKey && !field.hidden)) return [];
      const limit = Math.max(1, Math.min(first, MAX_VALUE_MATCHES));
      const cards = await permittedCards(actor, 'read', { typeKey, inTrash: false, [`values.${fieldKey}`]: value }, (scoped) => Card.find(scoped), limit);
      return Promise.all(cards.map(asPluginCard));
    },
  };
}

/** One PluginContext per request and signed-in viewer; a resolver of a plugin needs a signed-in viewer. */
const contexts = new WeakMap<GraphQLContext, Promise<PluginContext>>();

function contextOf(context: GraphQLContext): Promise<PluginContext> {
  let plugin = contexts.get(context);
  if (!plugin) contexts.set(context, (plugin = requireActor(context).then(pluginContext)));
  return plugin;
}

type ServerResolver = (parent: unknown, args: unknown, context: GraphQLContext, info: GraphQLResolveInfo) => Promise<unknown>;

/** A plugin's contribution as a module of the schema, its resolvers given the plugin context. */
export function pluginGraphQLModule(plugin: Plugin): GraphQLModule | undefined {
  if (!plugin.graphql) return undefined;
  const resolvers: Record<string, Record<string, ServerResolver>> = {};
  for (const [typeName, fields] of Object.entries(plugin.graphql.resolvers)) {
    resolvers[typeName] = Object.fromEntries(
      Object.entries(fields).map(([fieldName, resolve]: [string, PluginResolver]) => {
        const call = resolve as (parent: unknown, args: unknown, context: PluginContext) => unknown;
        const wrapped: ServerResolver = async (parent, args, context) => call(parent, args, await contextOf(context));
        return [fieldName, wrapped];
      }),
    );
  }
  return { typeDefs: plugin.graphql.typeDefs, resolvers: resolvers as IResolvers<unknown, GraphQLContext> };
}

/** The enabled plugins' GraphQL extensions, as modules of the schema (after the core's). */
export const pluginGraphQLModules = (): GraphQLModule[] => enabledPlugins().flatMap((plugin) => pluginGraphQLModule(plugin) ?? []);
