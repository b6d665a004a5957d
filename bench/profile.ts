/**
 * CPU profiles the benchmarks write with `--profile` (V8's .cpuprofile, one per thread): where a
 * process's busy time went, by area (the engine, GraphQL, the driver …) and by function.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Where the code of a profile's frame lives. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)' || functionName === '(program)') return functionName;
  if (url.includes('/node_modules/')) {
    const name = url.split('/node_modules/').pop()!.split('/');
    const pkg = name[0].startsWith('@') ? `${name[0]}/${name[1]}` : name[0];
    if (/^(graphql|graphql-yoga|@graphql-yoga\/.*|@envelop\/.*|@graphql-tools\/.*|@whatwg-node\/.*|graphql-jit|@escape\.tech\/.*)$/.test(pkg))
      return 'GraphQL (graphql-js, yoga, envelop)';
    if (/^(mongodb|bson|mongoose|mquery|kareem|mongodb-connection-string-url)$/.test(pkg)) return 'MongoDB driver and mongoose';
    if (/^(koa|@koa\/.*|koa-.*|helmet|cookies|keygrip|pino.*)$/.test(pkg)) return 'Koa, cookies, logging';
    if (/^@casl\/|^@ucast\//.test(pkg)) return 'CASL';
    if (/^(lmdb|msgpackr|mingo|ordered-binary)$/.test(pkg)) return 'lmdb, mingo';
    return `other packages (${pkg})`;
  }
  if (url.includes('/db/memory/')) return 'database engine (server/src/db/memory)';
  if (url.includes('/server/src/') || url.includes('/dist/server/')) return 'Kartoteka (server/src)';
  if (url === '') return `native (${functionName || 'anonymous'})`;
  if (url.startsWith('node:')) return 'Node.js internals (HTTP, streams, timers)';
  return 'other';
}

/** A function as a profile names it: its name and file (and line, where the code keeps its lines). */
function functionOf(node: ProfileNode): string {
  const { url, functionName, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(server|dist)\//, '$1/');
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

/** Self time (ms) of a .cpuprofile, grouped by `key`, busiest first; idle time left out. */
function selfTimes(file: string, key: (node: ProfileNode) => string): [string, number][] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const node = byId.get(profile.samples[i]);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    const name = key(node);
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...self].sort((a, b) => b[1] - a[1]);
}

const total = (times: [string, number][]) => times.reduce((sum, [, ms]) => sum + ms, 0);
const shares = (times: [string, number][], count: number) =>
  times
    .slice(0, count)
    .map(([name, ms]) => `${name} ${((100 * ms) / total(times)).toFixed(0)}%`)
    .join(', ');

/**
 * Prints where the busiest profile in `dir` (the process's main thread; module loader threads
 * write their own) spent its time: by area, and its busiest functions by self time.
 */
export function printProfile(dir: string, process: string): void {
  if (!existsSync(dir)) return;
  const profiles = readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => ({ file: path.join(dir, file), areas: selfTimes(path.join(dir, file), areaOf) }))
    .sort((a, b) => total(b.areas) - total(a.areas));
  const main = profiles[0];
  if (!main) return;
  console.log(`  CPU profile of the ${process} (${(total(main.areas) / 1000).toFixed(1)} s busy): ${shares(main.areas, 9)}`);
  console.log(`    busiest functions (self time): ${shares(selfTimes(main.file, functionOf), 12)}`);
  console.log(`    ${main.file} (open in Chrome DevTools › Performance, or speedscope)`);
}
