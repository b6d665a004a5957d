import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest folder above `start` holding package.json. Found by walking up, so the same code
 * works from the sources (server/src/…, run through tsx) and from the bundle (dist/server/main.js).
 */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
export const CLIENT_DIR = path.join(PROJECT_ROOT, 'client');
/** Where `npm run build` puts the client; the server serves it from here. */
export const CLIENT_DIST = path.join(CLIENT_DIR, 'dist');
/** The GraphQL API's contract, printed by `npm run schema`. */
export const SCHEMA_FILE = path.join(PROJECT_ROOT, 'schema.graphql');
