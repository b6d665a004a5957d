/**
 * `npm start`, the one-command start for evaluation: builds the client when its build is missing or
 * older than its sources, then runs the server from its TypeScript sources (through tsx).
 */
import { ensureClientBuilt } from '../server/src/http/client-build';
import { createLogger } from '../server/src/logger';

await ensureClientBuilt(createLogger({ logLevel: 'info', nodeEnv: 'development' }));
await import('../server/src/main');
