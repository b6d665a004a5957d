/**
 * The bulk-reading alarm: someone being sent far more cards than they usually are — a script
 * walking the API page by page, say — is told to administrators. Every card whose values go out to
 * a user (a list row, an opened card, a search hit, a related tab) counts, per fixed window of
 * `READ_ALARM_MINUTES`. A user's threshold is their own: the larger of `READ_ALARM_CARDS` (the
 * floor) and `READ_ALARM_FACTOR` × their usual count per window — the median, over each of the
 * last `READ_ALARM_DAYS` days (0 where they read nothing), of each day's largest window. The first time a
 * user's count within a window reaches their threshold, the audit log records `bulk-reading`
 * (administrators filter for it) and the administrators' open consoles are told at once
 * (`readAlarms`).
 *
 * A request costs a map update: counts are kept per instance and added to MongoDB (`read_counts`,
 * one document per user and window, kept a day past it) at most every few seconds per user, or at
 * once when they would reach the threshold, so instances count together. Each flush also raises
 * the day's peak in the user's `read_baselines` document (one per user: a peak per day, the
 * last `READ_ALARM_DAYS` days), which is read once per user and window to set the threshold.
 */
import mongoose, { Schema, Types } from 'mongoose';
import type { Actor } from '../access/actor';
import type { Config } from '../config';
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
  /** The user's usual cards per window (0: no reading in the days looked at). */
  usual: number;
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

const readBaselineSchema = new Schema(
  {
    /** The user. */
    _id: { type: Schema.Types.ObjectId, required: true },
    /** The most cards the user was sent within one window, by UTC day (days since 1970-01-01): the last READ_ALARM_DAYS days and today. */
    peaks: { type: Schema.Types.Mixed, default: {} },
  },
  { versionKey: false, minimize: false },
);
export const ReadBaseline = mongoose.model('ReadBaseline', readBaselineSchema, 'read_baselines');

type AlarmSettings = Pick<Config, 'readAlarmCards' | 'readAlarmMinutes' | 'readAlarmFactor' | 'readAlarmDays'>;

const DAY_MS = 24 * 3600_000;

/**
 * A user's usual cards per window: the median of their daily peaks (each day's largest window)
 * over each of the `days` days before `today`, a day without reading counting as 0 — so the usual
 * is what they do on most days: one burst, or a few days' reading just under the threshold, does
 * not raise it (a new account reading 4,999 cards once would otherwise be allowed 25,000 the next day).
 */
export function usualPerWindow(peaks: Record<string, number>, today: number, days: number): number {
  const past = Array.from({ length: days }, (_, back) => peaks[String(today - 1 - back)] ?? 0).sort((a, b) => a - b);
  if (past.length === 0) return 0;
  const middle = Math.floor(past.length / 2);
  return past.length % 2 === 1 ? past[middle] : Math.round((past[middle - 1] + past[middle]) / 2);
}

/** The cards within one window that raise a user's alarm: the floor, or `factor` × their usual, whichever is larger. */
export const alarmThreshold = (floor: number, factor: number, usual: number) => Math.max(floor, Math.ceil(factor * usual));

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
  /** This user's threshold for the window; null until their usual volume is read. */
  threshold: number | null;
  usual: number;
  /** The largest count of the window written to the day's peak so far. */
  peakRecorded: number;
  lastFlush: number;
  flushing: Promise<void> | null;
  /** The next flush of cards below the threshold. */
  timer: NodeJS.Timeout | null;
}

const pending = new Map<string, Pending>();

const t = (actor: Pick<Actor, 'locale'>, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** An upsert, once more if another instance made the document first (it then adds to that one). */
async function upserted<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return write();
  }
}

async function raise(entry: Pending, cards: number, threshold: number, minutes: number): Promise<void> {
  const { actor, usual } = entry;
  await recordAudit(
    { userId: actor.userId, login: actor.login, ip: actor.ip },
    {
      kind: 'bulk-reading',
      targetType: 'User',
      targetId: actor.userId,
      summary: t(
        actor,
        `Массовое чтение: ${actor.fullName} получил(а) ${cards} карточек за ${minutes} мин (${usual > 0 ? `обычно — ${usual}, ` : ''}порог — ${threshold})`,
        `Bulk reading: ${actor.fullName} was sent ${cards} cards within ${minutes} min (${usual > 0 ? `usually ${usual}, ` : ''}threshold ${threshold})`,
      ),
      after: { cards, threshold, usual, windowMinutes: minutes, windowStart: new Date(entry.window).toISOString() },
    },
  );
  events.publish('read-alarm', {
    userId: actor.userId,
    login: actor.login,
    fullName: actor.fullName,
    cards,
    threshold,
    usual,
    windowMinutes: minutes,
    at: new Date().toISOString(),
  });
}

/**
 * Reads the user's usual volume and sets the window's threshold from it; days older than the
 * history kept leave their document (at most once per user and window).
 */
async function settleThreshold(entry: Pending, settings: AlarmSettings): Promise<void> {
  const today = Math.floor(entry.window / DAY_MS);
  const baseline = await ReadBaseline.findById(entry.actor.userId, { peaks: 1 }).lean<{ peaks?: Record<string, number> }>();
  const peaks = baseline?.peaks ?? {};
  entry.usual = usualPerWindow(peaks, today, settings.readAlarmDays);
  entry.threshold = alarmThreshold(settings.readAlarmCards, settings.readAlarmFactor, entry.usual);
  const stale = Object.keys(peaks).filter((day) => Number(day) < today - settings.readAlarmDays);
  if (stale.length > 0) await ReadBaseline.updateOne({ _id: entry.actor.userId }, { $unset: Object.fromEntries(stale.map((day) => [`peaks.${day}`, ''])) });
}

/** Adds the user's pending cards to the window's count and the day's peak; raises the alarm once when the count reaches the threshold. */
async function flush(entry: Pending, minutes: number): Promise<void> {
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
  const count = await upserted(add);
  if (!count) return;
  entry.known = count.cards;
  entry.alarmed = Boolean(count.alarmedAt);
  if (count.cards > entry.peakRecorded) {
    entry.peakRecorded = count.cards;
    const day = Math.floor(entry.window / DAY_MS);
    await upserted(() => ReadBaseline.updateOne({ _id: entry.actor.userId }, { $max: { [`peaks.${day}`]: count.cards } }, { upsert: true }));
  }
  const threshold = entry.threshold!;
  if (count.cards < threshold || entry.alarmed) return;
  entry.alarmed = true;
  // One alarm per user and window, whichever instance gets here first.
  const claimed = await ReadCount.updateOne({ _id, alarmedAt: null }, { $set: { alarmedAt: new Date() } });
  if (claimed.modifiedCount === 1) await raise(entry, count.cards, threshold, minutes);
}

/** Flushes the user's count; what arrives meanwhile follows when due. */
function startFlush(entry: Pending, minutes: number, logger: Logger): void {
  entry.flushing = flush(entry, minutes)
    .catch((error: unknown) => logger.error({ err: error }, 'counting cards read failed'))
    .finally(() => {
      entry.flushing = null;
      flushIfDue(entry, minutes, logger);
    });
}

const thresholdDue = (entry: Pending) => entry.threshold !== null && !entry.alarmed && entry.known + entry.cards >= entry.threshold;

/**
 * Flushes at once when the threshold is reached, else once FLUSH_MS have passed since the last
 * flush (by a timer, so the last cards of a burst are counted too); never before the threshold is known.
 */
function flushIfDue(entry: Pending, minutes: number, logger: Logger): void {
  if (entry.flushing || entry.threshold === null || entry.cards === 0) return;
  const wait = FLUSH_MS - (Date.now() - entry.lastFlush);
  if (thresholdDue(entry) || wait <= 0) {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    startFlush(entry, minutes, logger);
  } else if (!entry.timer) {
    entry.timer = setTimeout(() => {
      entry.timer = null;
      flushIfDue(entry, minutes, logger);
    }, wait);
    entry.timer.unref();
  }
}

/**
 * Counts cards sent to a user (an export's batch, say). Never throws and never holds the caller
 * up; a failure to count is logged.
 */
export function countCardsRead(actor: Pending['actor'], cards: number, settings: AlarmSettings, logger: Logger): void {
  if (settings.readAlarmCards <= 0 || cards <= 0) return;
  const minutes = settings.readAlarmMinutes;
  const window = Math.floor(Date.now() / (minutes * 60_000)) * minutes * 60_000;
  let entry = pending.get(actor.userId);
  if (!entry || entry.window !== window) {
    const created: Pending = { actor, window, cards: 0, known: 0, alarmed: false, threshold: null, usual: 0, peakRecorded: 0, lastFlush: 0, flushing: null, timer: null };
    pending.set(actor.userId, created);
    settleThreshold(created, settings)
      .catch((error: unknown) => {
        // Without the usual volume the floor is the threshold: the alarm still works.
        logger.error({ err: error }, 'reading the usual volume of cards read failed');
        created.threshold = settings.readAlarmCards;
      })
      .finally(() => flushIfDue(created, minutes, logger));
    entry = created;
  }
  entry.actor = actor;
  entry.cards += cards;
  flushIfDue(entry, minutes, logger);
}

/** This instance's settings and logger, for cards counted outside a request (a job's); set as the app starts. */
let instanceAlarm: { settings: AlarmSettings; logger: Logger } | null = null;

export function useReadAlarm(settings: AlarmSettings, logger: Logger): void {
  instanceAlarm = { settings, logger };
}

/** Counts cards a background job tells its owner of (an import's refused rows tell which cards hold their unique values). */
export function countCardsReadByJob(actor: Pending['actor'], cards: number): void {
  if (instanceAlarm) countCardsRead(actor, cards, instanceAlarm.settings, instanceAlarm.logger);
}

/** Counts cards sent to the request's user (a listener of cards/reads.ts); never throws nor waits. */
export function countCardsReadInRequest(context: GraphQLContext, cards: number): void {
  if (context.config.readAlarmCards <= 0) return;
  context
    .actor()
    .then((actor) => countCardsRead(actor, cards, context.config, context.logger))
    .catch(() => undefined);
}
