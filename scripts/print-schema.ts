/**
 * `npm run schema`: writes the GraphQL API's contract to schema.graphql (and the client's typed
 * view of it, client/src/api/graphql-env.d.ts). A test fails while either is stale.
 */
import { writeFileSync } from 'node:fs';
import { graphqlModules } from '../server/src/app';
import { printedSchema } from '../server/src/graphql/schema';
import { SCHEMA_FILE } from '../server/src/paths';

writeFileSync(SCHEMA_FILE, printedSchema(graphqlModules));
console.log(`wrote ${SCHEMA_FILE}`);
