import mongoose from 'mongoose';

interface LockDoc {
  _id: string;
  holder: string;
  until: Date;
}

type Db = mongoose.mongo.Db;
const locks = (db: Db = mongoose.connection.db!) => db.collection<LockDoc>('locks');

const isDuplicateKey = (error: unknown) => (error as { code?: number }).code === 11000;

/**
 * Takes the named lock for `holder` unless another holder's claim is still valid. Several
 * instances sharing a database agree through the unique `_id`: exactly one upsert wins.
 */
export async function tryLock(name: string, holder: string, ttlMs: number, db?: Db): Promise<boolean> {
  const now = Date.now();
  try {
    // Renews our own or an expired claim; with no lock document at all the upsert inserts one. A
    // claim held by another instance matches nothing, and the upsert's insert then clashes on `_id`.
    await locks(db).updateOne({ _id: name, $or: [{ holder }, { until: { $lt: new Date(now) } }] }, { $set: { holder, until: new Date(now + ttlMs) } }, { upsert: true });
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

export async function unlock(name: string, holder: string, db?: Db): Promise<void> {
  await locks(db).deleteOne({ _id: name, holder });
}

/**
 * Runs `work` holding the named lock, renewing it meanwhile. Returns undefined without running
 * when another holder has it (or waits for it with `wait`).
 */
export async function withLock<T>(name: string, holder: string, work: () => Promise<T>, options: { ttlMs?: number; wait?: boolean; db?: Db } = {}): Promise<T | undefined> {
  const ttlMs = options.ttlMs ?? 60_000;
  while (!(await tryLock(name, holder, ttlMs, options.db))) {
    if (!options.wait) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const renewal = setInterval(() => void tryLock(name, holder, ttlMs, options.db).catch(() => undefined), ttlMs / 3);
  try {
    return await work();
  } finally {
    clearInterval(renewal);
    await unlock(name, holder, options.db);
  }
}
