/**
 * The bulk-reading alarm: someone being sent far more cards than a person reads — a script walking
 * the API page by page, say — is told to administrators. Every card whose values go out to a user
 * (a list row, an opened card, a search hit, a related tab) counts; the first time a user's count
 * within a window of `READ_ALARM_MINUTES` reaches `READ_ALARM_CARDS`, the audit log records
 * `bulk-reading` (administrators filter for it) and the administrators' open consoles are told at
 * once (`readAlarms`). A request costs a map update: counts are kept per instance and added to
 * MongoDB (`read_counts`, one document per user and window, kept a day past it) at most every few
 * seconds per user, or at once when they would reach the threshold, so instances count together.
 */
import mongoose, { Schema, Types } from 'mongoose';
import type { Actor } from '../access/actor';
import { recordAudit } from '../audit/service';
import { events } from '../events/bus';
import type { GraphQLContext } from '../graphql/context';
import type { Logger } from '../logger';
import { isDuplicateKeyError } from '../validation';

/** What administrators are told as it happens. */
export interface ReadAlarm {
  userId: string;
  login: string;
  fullName: string;
  cards: number;
  threshold: number;
  windowMinutes: number;
  at: string;
}

declare module '../events/bus' {
  interface ModuleTopics {
    /** A user reached the bulk-reading threshold (server/src/transfer/read-alarm.ts). */
    'read-alarm': [ReadAlarm];
  }
}

const readCountSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    windowStart: { type: Date, required: true },
    cards: { type: Number, default: 0 },
    alarmedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false },
);
readCountSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
export const ReadCount = mongoose.model('ReadCount', readCountSchema, 'read_counts');

/** How often at most one user's count goes to the database while below the threshold. */
const FLUSH_MS = 5_000;
const KEPT_PAST_WINDOW_MS = 24 * 3600_000;

interface Pending {
  actor: Pick<Actor, 'userId' | 'login' | 'fullName' | 'locale' | 'ip'>;
  window: number;
  /** Cards not yet added to the database. */
  cards: number;
  /** The database's count for the window as of the last flush. */
  known: number;
  /** The window's alarm is raised (by this instance or another): counts go at the usual pace. */
  alarmed: boolean;
  lastFlush: number;
  flushing: Promise<void> | null;
}

const pending = new Map<string, Pending>();

const t = (actor: Pick<Actor, 'locale'>, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

async function raise(entry: Pending, cards: number, threshold: number, minutes: number): Promise<void> {
  const { actor } = entry;
  await recordAudit(
    { userId: actor.userId, login: actor.login, ip: actor.ip },
    {
      kind: 'bulk-reading',
      targetType: 'User',
      targetId: actor.userId,
      summary: t(
        actor,
        `Массовое чтение: ${actor.fullName} получил(а) ${cards} карточек за ${minutes} мин (порог — ${threshold})`,
        `Bulk reading: ${actor.fullName} was sent ${cards} cards within ${minutes} min (threshold ${threshold})`,
      ),
      after: { cards, threshold, windowMinutes: minutes, windowStart: new Date(entry.window).toISOString() },
    },
  );
  events.publish('read-alarm', { userId: actor.userId, login: actor.login, fullName: actor.fullName, cards, threshold, windowMinutes: minutes, at: new Date().toISOString() });
}

/** Adds the user's pending cards to the window's count; raises the alarm once when the count reaches the threshold. */
async function flush(entry: Pending, threshold: number, minutes: number): Promise<void> {
  const cards = entry.cards;
  entry.cards = 0;
  entry.lastFlush = Date.now();
  const _id = `${entry.actor.userId}:${entry.window}`;
  const add = () =>
    ReadCount.findOneAndUpdate(
      { _id },
      {
        $inc: { cards },
        $setOnInsert: {
          userId: new Types.ObjectId(entry.actor.userId),
          windowStart: new Date(entry.window),
          expiresAt: new Date(entry.window + minutes * 60_000 + KEPT_PAST_WINDOW_MS),
        },
      },
      { upsert: true, returnDocument: 'after', projection: { cards: 1, alarmedAt: 1 } },
    ).lean<{ cards: number; alarmedAt: Date | null }>();
  let count;
  try {
    count = await add();
  } catch (error) {
    // Another instance made the window's document first: add to it.
    if (!isDuplicateKeyError(error)) throw error;
    count = await add();
  }
  if (!count) return;
  entry.known = count.cards;
  entry.alarmed = Boolean(count.alarmedAt);
  if (count.cards < threshold || entry.alarmed) return;
  entry.alarmed = true;
  // One alarm per user and window, whichever instance gets here first.
  const claimed = await ReadCount.updateOne({ _id, alarmedAt: null }, { $set: { alarmedAt: new Date() } });
  if (claimed.modifiedCount === 1) await raise(entry, count.cards, threshold, minutes);
}

/** Flushes the user's count; what arrives meanwhile and reaches the threshold goes right after. */
function startFlush(entry: Pending, threshold: number, minutes: number, logger: Logger): void {
  entry.flushing = flush(entry, threshold, minutes)
    .catch((error: unknown) => logger.error({ err: error }, 'counting cards read failed'))
    .finally(() => {
      entry.flushing = null;
      if (entry.cards > 0 && thresholdDue(entry, threshold) && pending.get(entry.actor.userId) === entry) startFlush(entry, threshold, minutes, logger);
    });
}

const thresholdDue = (entry: Pending, threshold: number) => !entry.alarmed && entry.known + entry.cards >= threshold;

/**
 * Counts one card sent to the request's user (a listener of cards/reads.ts). Never throws and never
 * holds the request up; a failure to count is logged.
 */
export function countCardRead(context: GraphQLContext): void {
  const threshold = context.config.readAlarmCards;
  if (threshold <= 0) return;
  const minutes = context.config.readAlarmMinutes;
  context
    .actor()
    .then((actor) => {
      const window = Math.floor(Date.now() / (minutes * 60_000)) * minutes * 60_000;
      let entry = pending.get(actor.userId);
      if (!entry || entry.window !== window) {
        entry = { actor, window, cards: 0, known: 0, alarmed: false, lastFlush: 0, flushing: null };
        pending.set(actor.userId, entry);
      }
      entry.actor = actor;
      entry.cards += 1;
      if (!entry.flushing && (thresholdDue(entry, threshold) || Date.now() - entry.lastFlush >= FLUSH_MS)) startFlush(entry, threshold, minutes, context.logger);
    })
    .catch(() => undefined);
}
