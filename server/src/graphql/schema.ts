import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { GraphQLContext } from './context';
import type { GraphQLModule } from './module';

const rootTypeDefs = /* GraphQL */ `
  type Query
  type Mutation
`;

/** The executable schema of the domain modules' parts. */
export function assembleSchema(modules: readonly GraphQLModule[]): GraphQLSchema {
  return createSchema<GraphQLContext>({
    typeDefs: [rootTypeDefs, ...modules.map((m) => m.typeDefs)],
    resolvers: modules.map((m) => m.resolvers),
  });
}

/** The API contract as committed in schema.graphql: the schema printed with its types in name order. */
export function printedSchema(modules: readonly GraphQLModule[]): string {
  return `${printSchema(lexicographicSortSchema(assembleSchema(modules)))}\n`;
}
