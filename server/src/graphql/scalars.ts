import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { GraphQLModule } from './module';

export const scalarsModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    scalar JSON
    "ISO 8601 date and time"
    scalar DateTime
  `,
  resolvers: { JSON: JSONResolver, DateTime: DateTimeResolver },
};
