/**
 * The API contract's files: `schema.graphql` (the schema the server serves, types in name order) and
 * the client's typed view of it, `client/src/api/graphql-env.d.ts` (gql.tada's introspection type,
 * which types every client operation). `npm run schema` writes them; a test fails while either is stale.
 */
import path from 'node:path';
import { buildSchema, introspectionFromSchema } from 'graphql';
import { minifyIntrospection, outputIntrospectionFile } from 'gql.tada/internal';
import { graphqlModules } from '../server/src/app';
import { printedSchema } from '../server/src/graphql/schema';
import { CLIENT_DIR, SCHEMA_FILE } from '../server/src/paths';

export const CLIENT_SCHEMA_TYPES_FILE = path.join(CLIENT_DIR, 'src', 'api', 'graphql-env.d.ts');

export function contractFiles(): { file: string; text: string }[] {
  const schema = printedSchema(graphqlModules);
  const introspection = minifyIntrospection(introspectionFromSchema(buildSchema(schema)));
  return [
    { file: SCHEMA_FILE, text: schema },
    { file: CLIENT_SCHEMA_TYPES_FILE, text: outputIntrospectionFile(introspection, { fileType: '.d.ts', shouldPreprocess: true }) },
  ];
}
