import type { Plugin } from 'graphql-yoga';
import { getOperationAST } from 'graphql';
import { accessVersionUnknown } from '../access/changes';
import mongoose from 'mongoose';
import { AppError } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import { message } from '../i18n';
import type { Db } from '../migrations';

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

type MaintenanceDoc = Maintenance & { _id: 'maintenance' };

const flag = (db: Db) => db.collection<MaintenanceDoc>('meta');

/** How long servers may go on using a cached "no maintenance" answer. */
const CACHE_MS = 1000;
/**
 * A restore waits this long after raising the flag before it writes, so every instance has seen
 * it and changes already under way have finished.
 */
export const MAINTENANCE_GRACE_MS = 2 * CACHE_MS + 1500;

export async function startMaintenance(db: Db, detail: string): Promise<void> {
  await flag(db).updateOne({ _id: 'maintenance' }, { $set: { reason: 'restore', since: new Date(), detail } }, { upsert: true });
}

export async function endMaintenance(db: Db): Promise<void> {
  await flag(db).deleteOne({ _id: 'maintenance' });
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

/** GraphQL: mutations are refused during maintenance; queries and live streams go on. */
export function useMaintenanceGuard(): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const maintenance = await currentMaintenance();
      if (!maintenance) return;
      const locale = (args.contextValue as unknown as GraphQLContext).locale;
      setResultAndStopExecution({ errors: [new AppError('MAINTENANCE', message(locale, 'maintenance'), { since: maintenance.since.toISOString() })] });
    },
  };
}
