import { SERVER_VERSION } from '../version';
import type { GraphQLContext } from '../graphql/context';
import type { GraphQLModule } from '../graphql/module';

const startedAt = new Date();

const PRODUCT = { ru: 'Картотека', en: 'Kartoteka' } as const;

/** Only administrators learn what the server runs on: versions help an attacker pick an exploit. */
async function viewerIsAdmin(context: GraphQLContext): Promise<boolean> {
  if (!context.auth.user || context.auth.addressRefused) return false;
  return (await context.actor()).isAdmin;
}

export const systemModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    "What the server is; what it runs on is shown to administrators only (null for everyone else)."
    type ServerInfo {
      "The product's name in the viewer's language."
      product: String!
      version: String
      "mongodb, embedded-mongod or kartoteka-memory"
      databaseKind: String
      nodeVersion: String
      startedAt: String
    }
    extend type Query {
      serverInfo: ServerInfo!
    }
  `,
  resolvers: {
    Query: {
      serverInfo: async (_parent, _args, context) => {
        const product = PRODUCT[context.locale];
        if (!(await viewerIsAdmin(context))) return { product, version: null, databaseKind: null, nodeVersion: null, startedAt: null };
        return { product, version: SERVER_VERSION, databaseKind: context.databaseKind, nodeVersion: process.version, startedAt: startedAt.toISOString() };
      },
    },
  },
};
