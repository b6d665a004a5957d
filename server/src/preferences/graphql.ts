import { requireActor } from '../graphql/guards';
import type { GraphQLModule } from '../graphql/module';
import { columnWidthsOf, setColumnWidths } from './column-widths';

/** The viewer's own preferences of the workspace, stored per user on the server. */
export const preferencesModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    extend type Query {
      "The widths (px) the viewer gave the columns of a folder's list, by column key ({} when none). The folder must be readable."
      columnWidths(folderId: ID!): JSON!
    }
    extend type Mutation {
      """
      Stores the viewer's column widths for a folder's list, replacing them (the same on every computer
      they sign in from): at most 60 columns; keys are column keys (a field key, title, createdAt,
      updatedAt); widths whole pixels from 60 to 1200 — else BAD_USER_INPUT at widths.<key>. Returns them.
      """
      setColumnWidths(folderId: ID!, widths: JSON!): JSON!
    }
  `,
  resolvers: {
    Query: {
      columnWidths: async (_p, { folderId }: { folderId: string }, context) => columnWidthsOf(await requireActor(context), folderId),
    },
    Mutation: {
      setColumnWidths: async (_p, { folderId, widths }: { folderId: string; widths: unknown }, context) => setColumnWidths(await requireActor(context), folderId, widths),
    },
  },
};
