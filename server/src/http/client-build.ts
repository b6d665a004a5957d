import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isPluginPath, OUTSIDE_PLUGINS_FILE, outsidePluginNames, pluginNames } from '../../../plugins/names';
import type { Logger } from '../logger';
import { CLIENT_DIR, CLIENT_DIST, PROJECT_ROOT } from '../paths';

const CLIENT_SOURCES = ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((entry) => path.join(CLIENT_DIR, entry));
/** The card-type kernel and the shipped plugins' client parts are built into the client too. */
const SHARED_SOURCES = ['card-types', 'plugins'].map((entry) => path.join(PROJECT_ROOT, entry));

async function newestModification(target: string): Promise<number> {
  const info = await stat(target).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(target);
  const times = await Promise.all(entries.map((entry) => newestModification(path.join(target, entry))));
  return Math.max(info.mtimeMs, ...times);
}

/**
 * True when client/dist is missing, older than any client source file (a plugin's named by path in
 * PLUGINS included), or built for other plugins from outside `plugins/` than PLUGINS names now.
 */
export async function clientBuildIsStale(): Promise<boolean> {
  const built = await stat(path.join(CLIENT_DIST, 'index.html')).catch(() => undefined);
  if (!built) return true;
  const outside = outsidePluginNames(pluginNames(process.env.PLUGINS), path.join(PROJECT_ROOT, 'plugins'));
  const builtFor = await readFile(path.join(CLIENT_DIST, OUTSIDE_PLUGINS_FILE), 'utf8').catch(() => '[]');
  if (builtFor !== JSON.stringify(outside)) return true;
  const pluginFolders = outside.filter(isPluginPath).map((name) => path.dirname(path.resolve(name)));
  const sources = await Promise.all([...CLIENT_SOURCES, ...SHARED_SOURCES, ...pluginFolders].map((entry) => newestModification(entry)));
  return Math.max(...sources) > built.mtimeMs;
}

/** Builds the client with Vite when its build is missing or stale (development and tests; never in production). */
export async function ensureClientBuilt(logger: Logger): Promise<void> {
  if (!(await clientBuildIsStale())) return;
  logger.info('building the client (missing or stale build)…');
  const started = performance.now();
  const { build } = await import('vite');
  // Vite sets NODE_ENV=production for the build; the process (and its children) keep their own.
  const nodeEnv = process.env.NODE_ENV;
  try {
    await build({ configFile: path.join(CLIENT_DIR, 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  logger.info({ ms: Math.round(performance.now() - started) }, 'client built');
}
