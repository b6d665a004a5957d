import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, Kind, type OperationDefinitionNode } from 'graphql';
import { accessVersionUnknown } from '../access/changes';
import mongoose from 'mongoose';
import { AppError } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import { message } from '../i18n';
import type { Db } from '../migrations';
import { SESSION_COOKIE } from '../people/sessions';

/**
 * The maintenance flag: while a restore replaces a database's contents, every server on that
 * database stays read-only (changes are refused with a clear message, background jobs pause).
 * It lives in the database itself, so every instance sharing it sees it.
 */
export interface Maintenance {
  reason: 'restore';
  since: Date;
  /** What is being restored, for the message and the log. */
  detail: string;
}

/**
 * The flag is also the restore lock: the restore that raised it holds it (`holder`) and renews
 * `heartbeatAt`; another restore may take it over only once it failed or its holder went silent.
 */
type MaintenanceDoc = Maintenance & { _id: 'maintenance'; holder?: string; state?: 'running' | 'failed'; heartbeatAt?: Date };

const flag = (db: Db) => db.collection<MaintenanceDoc>('meta');

/** How long servers may go on using a cached "no maintenance" answer. */
const CACHE_MS = 1000;
/**
 * A restore waits this long after raising the flag before it writes, so every instance has seen
 * it and changes already under way have finished.
 */
export const MAINTENANCE_GRACE_MS = 2 * CACHE_MS + 1500;

/** A running restore renews its hold this often; one silent for STALE_MS (crashed, killed) may be taken over. */
const HEARTBEAT_MS = 5000;
const STALE_MS = 30_000;

export interface MaintenanceLease {
  /** The restore failed: the flag stays up (servers stay read-only) and the next restore may take it over at once. */
  fail(): Promise<void>;
  /** The restore finished: the flag goes down. */
  end(): Promise<void>;
}

/** The flag is up but no restore holds it: the one that raised it failed, or went silent (crashed, killed). */
const heldByNoRunningRestore = () => ({ $or: [{ state: { $ne: 'running' as const } }, { heartbeatAt: { $not: { $gte: new Date(Date.now() - STALE_MS) } } }] });

const isDuplicateKey = (error: unknown) => (error as { code?: number }).code === 11000;

/**
 * Raises the maintenance flag as this restore's own: a conditional write, so of two restores at
 * once exactly one gets it. Null when another restore holds it and is alive.
 */
export async function startMaintenance(db: Db, detail: string): Promise<MaintenanceLease | null> {
  const holder = randomUUID();
  const now = new Date();
  const held = { reason: 'restore' as const, since: now, detail, holder, state: 'running' as const, heartbeatAt: now };
  try {
    await flag(db).insertOne({ _id: 'maintenance', ...held });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    const takenOver = await flag(db).updateOne({ _id: 'maintenance', ...heldByNoRunningRestore() }, { $set: held });
    if (takenOver.matchedCount === 0) return null;
  }
  const mine = { _id: 'maintenance' as const, holder };
  const beat = setInterval(() => {
    flag(db)
      .updateOne(mine, { $set: { heartbeatAt: new Date() } })
      .then(
        (renewed) => renewed.matchedCount === 0 && clearInterval(beat),
        () => undefined,
      );
  }, HEARTBEAT_MS);
  beat.unref();
  return {
    async fail() {
      clearInterval(beat);
      await flag(db).updateOne(mine, { $set: { state: 'failed' } });
    },
    async end() {
      clearInterval(beat);
      await flag(db).deleteOne(mine);
    },
  };
}

/** What `npm run restore -- --end-maintenance` did: lifted the flag, found none, or left a running restore's. */
export type MaintenanceEnd = 'lifted' | 'none' | 'running';

/**
 * Lifts the flag a failed or silent restore left up (`npm run restore -- --end-maintenance`). A
 * restore still running keeps it unless `force`: lifting it would let changes in while the restore
 * replaces the data, and they would be lost.
 */
export async function endMaintenance(db: Db, { force = false } = {}): Promise<MaintenanceEnd> {
  const lifted = await flag(db).deleteOne(force ? { _id: 'maintenance' } : { _id: 'maintenance', ...heldByNoRunningRestore() });
  if (lifted.deletedCount === 1) return 'lifted';
  return (await maintenanceOf(db)) ? 'running' : 'none';
}

export async function maintenanceOf(db: Db): Promise<Maintenance | null> {
  const found = await flag(db).findOne({ _id: 'maintenance' });
  return found ? { reason: found.reason, since: found.since, detail: found.detail } : null;
}

let cached: { at: number; db: Db; value: Maintenance | null } | null = null;

/** The application database's maintenance state, re-read at most once a second. */
export async function currentMaintenance(): Promise<Maintenance | null> {
  const db = mongoose.connection.db;
  if (!db) return null;
  if (cached && cached.db === db && Date.now() - cached.at < CACHE_MS) return cached.value;
  const value = await maintenanceOf(db);
  // A restore just ended: what access decisions rest on was replaced; read it again before using it.
  if (cached?.db === db && cached.value && !value) accessVersionUnknown();
  cached = { at: Date.now(), db, value };
  return value;
}

export const underMaintenance = async () => (await currentMaintenance()) !== null;

/** The response keys of a mutation that only signs out (`signOut`, perhaps aliased), else null. */
function signOutKeys(operation: OperationDefinitionNode): string[] | null {
  const fields = operation.selectionSet.selections;
  const only = fields.every((field) => field.kind === Kind.FIELD && field.name.value === 'signOut');
  return only ? fields.map((field) => (field.kind === Kind.FIELD ? (field.alias ?? field.name).value : '')) : null;
}

/**
 * GraphQL: mutations are refused during maintenance; queries and live streams go on. Signing out
 * works: the browser's session cookie is cleared without a write (the restore replaces the
 * sessions anyway, and a write now would be lost or spoil its counts).
 */
export function useMaintenanceGuard(): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const maintenance = await currentMaintenance();
      if (!maintenance) return;
      const context = args.contextValue as unknown as GraphQLContext;
      const signOut = signOutKeys(operation);
      if (signOut) {
        context.koa.cookies.set(SESSION_COOKIE, null, { signed: true });
        setResultAndStopExecution({ data: Object.fromEntries(signOut.map((key) => [key, true])) });
        return;
      }
      const locale = context.locale;
      setResultAndStopExecution({ errors: [new AppError('MAINTENANCE', message(locale, 'maintenance'), { since: maintenance.since.toISOString() })] });
    },
  };
}
