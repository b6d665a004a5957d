import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { GraphQLContext } from './context';
import type { GraphQLModule } from './module';

const rootTypeDefs = /* GraphQL */ `
  """
  What a viewer may read. Errors carry extensions.code: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (also
  for what the viewer may not know exists), CONFLICT (with the current state), BAD_USER_INPUT (see
  Mutation for the shape of every refusal of input, queries included).
  """
  type Query
  """
  What a viewer may change.

  Refusals of input have one shape, whoever refuses: a value that is missing (a required argument or
  input field left out, or null), empty, of the wrong type or invalid is answered with
  extensions.code BAD_USER_INPUT and extensions.fields = { place: message }, in the viewer's language.
  GraphQL's own checks of argument values (written in the query, or variables) answer so too; only
  errors about the selection itself (an unknown field) stay GRAPHQL_VALIDATION_FAILED. A required value
  left out and the same value sent empty read alike: «Обязательное поле» / "Required".

  A place is the argument's name, with input keys and list positions after dots (folderId,
  entries.0.level) — except inside an argument that is an input object or a map of values (input,
  definition, values), where it starts inside it: name, fields.2.key, title.
  """
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
