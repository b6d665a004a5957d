import type { PluginContext, PluginGraphQL } from '../api';
import { innProblem } from './checksums';
import { text } from './messages';

/** The type and field whose cards hold an organisation's INN (the core's «Контрагент»). */
const holders = { typeKey: 'counterparty', fieldKey: 'inn' };

const problemText = { format: text.innFormat, checksum: text.innChecksum };

/** `requisitesCheck(inn:)`: whether an INN is valid and which cards the viewer may read hold it. */
export const graphql: PluginGraphQL = {
  typeDefs: /* GraphQL */ `
    "A card holding a checked INN (plugin russian-requisites); open it by id (Query.card)."
    type RequisitesHolder {
      id: ID!
      typeKey: String!
      folderId: ID!
      title: String!
    }
    "What the russian-requisites plugin says about an INN."
    type RequisitesCheck {
      "The INN as asked, spaces and hyphens left out."
      inn: String!
      valid: Boolean!
      "Why the INN is not valid, in the viewer's language; null when it is."
      problem: String
      "Counterparties with this INN that the viewer may read (empty: none, or none readable)."
      holders: [RequisitesHolder!]!
    }
    extend type Query {
      "Checks an INN's format and check digits and finds the counterparties holding it that the viewer may read (plugin russian-requisites)."
      requisitesCheck(inn: String!): RequisitesCheck!
    }
  `,
  resolvers: {
    Query: {
      requisitesCheck: async (_parent: unknown, { inn }: { inn: string }, context: PluginContext) => {
        const digits = inn.replace(/[\s-]/g, '');
        const problem = innProblem(digits);
        const cards = problem === undefined ? await context.cardsWithValue({ ...holders, value: digits, first: 10 }) : [];
        const holderList = cards.map(({ id, typeKey, folderId, title }) => ({ id, typeKey, folderId, title }));
        return { inn: digits, valid: problem === undefined, problem: problem ? problemText[problem][context.viewer.locale] : null, holders: holderList };
      },
    },
  },
};
