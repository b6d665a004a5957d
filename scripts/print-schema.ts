/**
 * `npm run schema`: writes the GraphQL API's contract to schema.graphql and the client's typed
 * view of it, client/src/api/graphql-env.d.ts. A test fails while either is stale.
 */
import { writeFileSync } from 'node:fs';
import { contractFiles } from './api-contract';

for (const { file, text } of contractFiles()) {
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
