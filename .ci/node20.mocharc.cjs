/**
 * CI's pass on Node 20, the Node of this machine (end of life; `npm test` is to keep working on it
 * while the dependencies allow). The whole suite runs on Node 24, the production target; here run
 * the files whose result can depend on the runtime rather than on Kartoteka's own code — mocha's
 * options are `.mocharc.json`'s, only the files differ.
 */
const { spec: _wholeSuite, ...options } = require('../.mocharc.json');

module.exports = {
  ...options,
  spec: [
    // Unit tests (the child database process, exceljs's temporary files and streams, the seed CLI) and the job runner's timers and locks.
    'test/unit/**/*.test.ts',
    'test/jobs/*.test.ts',
    // The built-in database: LMDB, a native addon, under BSON, Buffers and the wire protocol.
    'test/db/*.test.ts',
    // The HTTP server (Koa on node:http, fetch/undici as the client), sign-in's argon2 (native) and the built client served.
    'test/api/skeleton.test.ts',
    'test/api/http-security.test.ts',
    // Files: @napi-rs/canvas (native) for previews, worker threads for heavy work, streamed uploads and downloads.
    'test/api/files.test.ts',
    'test/api/files-workers.test.ts',
    // Streams held and ended by the client (Node 24 reports an abandoned download differently) and the server's own clock.
    'test/api/export-stream.test.ts',
    'test/api/request-path.test.ts',
    // The query time limit carried by AsyncLocalStorage (on Node 20 promise hooks; on Node 24 without them).
    'test/api/query-time-limit.test.ts',
    // Backup archives: zlib and tar streams, maintenance and the database's restore.
    'test/backup/restore.test.ts',
    // Chromium against the server: the client built, served and signed in to.
    'test/browser/sign-in.test.ts',
  ],
};
