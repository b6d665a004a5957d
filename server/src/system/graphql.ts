import { SERVER_VERSION } from '../version';
import type { GraphQLModule } from '../graphql/module';

const startedAt = new Date();

export const systemModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    "What the server is and what it runs on."
    type ServerInfo {
      version: String!
      "mongodb, embedded-mongod or kartoteka-memory"
      databaseKind: String!
      nodeVersion: String!
      startedAt: String!
    }
    extend type Query {
      serverInfo: ServerInfo!
    }
  `,
  resolvers: {
    Query: {
      serverInfo: (_parent, _args, context) => ({
        version: SERVER_VERSION,
        databaseKind: context.databaseKind,
        nodeVersion: process.version,
        startedAt: startedAt.toISOString(),
      }),
    },
  },
};
