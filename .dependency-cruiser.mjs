/**
 * dependency-cruiser (`npm run lint`): no import cycles between files anywhere, and none between
 * the server's domain folders (server/src/cards, folders, unread, access, …, and the top-level
 * card-types and plugins): a domain never depends on itself through another. The composition root
 * (server/src/app.ts, server.ts) and the shared basics beside it (errors, logger, config) are not
 * a domain. Type-only imports count too: a cycle of types still makes two modules change together.
 */
const DOMAIN_FOLDER = '^(server/src/[^/]+|card-types|plugins)';
/** Where the server is put together from its domains; it imports them all and none may import it. */
const COMPOSITION_ROOT = '^server/src/(app|server|main)\\.ts$';

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'This import closes a cycle of files; move the shared part into a module both can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      scope: 'folder',
      comment: 'These domain folders import each other; the dependency must go one way only.',
      from: { path: DOMAIN_FOLDER },
      to: { path: DOMAIN_FOLDER, circular: true, viaOnly: { path: DOMAIN_FOLDER } },
    },
    {
      name: 'no-composition-root-in-domains',
      severity: 'error',
      comment: 'Domains are assembled by the composition root; they must not import it.',
      from: { path: DOMAIN_FOLDER },
      to: { path: COMPOSITION_ROOT },
    },
  ],
  options: {
    // The composition root's own imports are not followed: it depends on every domain by design.
    doNotFollow: { path: ['node_modules', COMPOSITION_ROOT] },
    exclude: { path: '^(node_modules|dist|client/dist|data|test-artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.vue', '.json'] },
  },
};
