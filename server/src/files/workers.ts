import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * A worker thread running one of this folder's worker modules: `files/<name>.js` beside the
 * production bundle (dist/server/main.js), else the source beside this file — a `.ts` one through
 * tsx, which a worker does not inherit from the thread that starts it. Throws when neither is there.
 */
export function filesWorker(source: 'pdf-check-worker.ts' | 'pages-worker.mjs', resourceLimits: ResourceLimits): Worker {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bundled = path.join(here, 'files', source.replace(/\.[^.]+$/, '.js'));
  if (existsSync(bundled)) return new Worker(bundled, { resourceLimits });
  const file = path.join(here, source);
  if (!existsSync(file)) throw new Error(`the worker files/${source} is missing; run npm run build`);
  if (!source.endsWith('.ts')) return new Worker(file, { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const module = pathToFileURL(file).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(module)}); })`, { eval: true, resourceLimits });
}
