import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { DEFAULT_PLUGINS, pluginNames } from '../../plugins/names';
import { parseKeepRule, type KeepRule } from './backup/retention';

/** Typed, validated configuration. Read once at start from the environment. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  host: string;
  port: number;
  mongodbUri: string | undefined;
  /** The embedded database is meant (required to run without MONGODB_URI in production). */
  embeddedDb: boolean;
  dataDir: string;
  sessionSecret: string;
  trustProxy: boolean;
  /** How many proxies in front of the server append to X-Forwarded-For: the client is that many entries from the right. */
  trustProxyHops: number;
  /** Other origins (scheme://host[:port]) whose pages may call the API with credentials; same-origin only when empty. */
  corsOrigins: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  /** Requests of one signed-in user this instance serves at once (more wait in their own line, up to 8× as many; past that: 429). */
  userRequestsAtOnce: number;
  /** Sign-in password checks this process runs at once (more wait, up to 4× as many; past that strangers' attempts get 429). */
  signInChecksAtOnce: number;
  /** How long one database query of a request may run before the database stops it (jobs and backups have no limit). */
  queryTimeLimitMs: number;
  adminLogin: string;
  adminPassword: string | undefined;
  seedDemoData: boolean;
  /** Shared event bus for several instances; in-process when unset. */
  redisUrl: string | undefined;
  /** Bearer token for GET /metrics; the endpoint is off when unset. */
  metricsToken: string | undefined;
  /** Cron expression for backups taken by the server itself; none when unset. */
  backupSchedule: string | undefined;
  /** Where the server writes backups (scheduled and «Создать сейчас»). */
  backupDir: string;
  /** Which backups in backupDir to keep. */
  backupKeep: KeepRule;
  backupKeepText: string;
  /** Rows one user may export per day (UTC); 0: no limit. */
  exportDailyRows: number;
  /** Bytes one user may hold in uploaded import files not yet imported from; 0: no quota. */
  importUploadQuotaBytes: number;
  /**
   * The bulk-reading alarm: the least number of cards one user may be sent within
   * `readAlarmMinutes` before administrators are alerted (0: off); a user's own threshold is
   * `readAlarmFactor` × their usual count per window over `readAlarmDays` days when that is larger.
   */
  readAlarmCards: number;
  readAlarmMinutes: number;
  readAlarmFactor: number;
  readAlarmDays: number;
  /** How many bytes of files one user may have stored (every version of what they uploaded); 0 = no quota. */
  fileQuotaBytes: number;
  /** The bound of the copies made for viewing files (thumbnails, HTML, drawn pages), for the whole installation. */
  filePreviewCacheBytes: number;
  /** The plugins to load, in order (PLUGINS): names of plugins shipped in plugins/, paths or package names. */
  plugins: string[];
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A fixed development secret: fine on a developer's machine, refused in production. */
const DEVELOPMENT_SESSION_SECRET = 'kartoteka-development-secret-not-for-production';

/** "https://host[:port]" exactly: an origin has no path, query or trailing slash. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be 0–65535').max(65535, 'must be 0–65535').default(3000),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/.+/, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  EMBEDDED_DB: booleanFlag.default(false),
  DATA_DIR: z.string().min(1).default('./data'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TRUST_PROXY: booleanFlag.default(false),
  TRUST_PROXY_HOPS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be 1–10').max(10, 'must be 1–10').default(1),
  CORS_ORIGINS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().refine(isOrigin, 'must be origins like https://app.example.com, separated by commas')))
    .default([]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  BODY_LIMIT_KB: z.coerce.number({ message: 'must be a number' }).int().min(1, 'must be at least 1').default(1024),
  USER_REQUESTS_AT_ONCE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(16),
  SIGN_IN_CHECKS_AT_ONCE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(availableParallelism()),
  QUERY_TIME_LIMIT_MS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(20_000),
  FILE_QUOTA_MB: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (no quota) or more').default(5120),
  FILE_PREVIEW_CACHE_MB: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(2048),
  ADMIN_LOGIN: z.string().min(1).default('admin'),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SEED_DEMO_DATA: booleanFlag.default(true),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must start with redis:// or rediss://')
    .optional(),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  BACKUP_SCHEDULE: z.string().refine(validCron, 'must be a cron expression, e.g. "0 3 * * *" (every day at 03:00)').optional(),
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_KEEP: z
    .string()
    .default('7d,4w,12m')
    .superRefine((text, context) => {
      try {
        parseKeepRule(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  IMPORT_UPLOAD_QUOTA_MB: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (no quota) or more').default(1024),
  EXPORT_DAILY_ROWS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (no limit) or more').default(0),
  READ_ALARM_CARDS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (off) or more').default(5000),
  READ_ALARM_MINUTES: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be 1 or more')
    .max(1440, 'must be at most 1440 (a day)')
    .default(60),
  READ_ALARM_FACTOR: z.coerce.number({ message: 'must be a number' }).min(1, 'must be 1 or more').max(1000, 'must be at most 1000').default(5),
  READ_ALARM_DAYS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 or more').max(90, 'must be at most 90').default(14),
  PLUGINS: z.string().transform(pluginNames).default(DEFAULT_PLUGINS),
});

/** Every environment variable Kartoteka reads (deploy files are checked against this list). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

function validCron(expression: string): boolean {
  try {
    new Cron(expression, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** Validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`));
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const problems: string[] = [];
  if (isProduction && !e.SESSION_SECRET) problems.push('SESSION_SECRET: required in production (at least 32 random characters)');
  if (isProduction && !e.MONGODB_URI && !e.EMBEDDED_DB) {
    problems.push(
      'MONGODB_URI: required in production (a MongoDB replica set, e.g. mongodb://db1,db2,db3/kartoteka?replicaSet=rs0); ' +
        'set EMBEDDED_DB=true instead to run the embedded database on purpose (one machine, data under DATA_DIR)',
    );
  }
  if (e.MONGODB_URI && e.EMBEDDED_DB) problems.push('EMBEDDED_DB: true contradicts MONGODB_URI; set one of them');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    host: e.HOST,
    port: e.PORT,
    mongodbUri: e.MONGODB_URI,
    embeddedDb: e.EMBEDDED_DB,
    dataDir: e.DATA_DIR,
    sessionSecret: e.SESSION_SECRET ?? DEVELOPMENT_SESSION_SECRET,
    trustProxy: e.TRUST_PROXY,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    corsOrigins: e.CORS_ORIGINS,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_KB * 1024,
    userRequestsAtOnce: e.USER_REQUESTS_AT_ONCE,
    signInChecksAtOnce: e.SIGN_IN_CHECKS_AT_ONCE,
    queryTimeLimitMs: e.QUERY_TIME_LIMIT_MS,
    adminLogin: e.ADMIN_LOGIN,
    adminPassword: e.ADMIN_PASSWORD,
    seedDemoData: e.SEED_DEMO_DATA,
    redisUrl: e.REDIS_URL,
    metricsToken: e.METRICS_TOKEN,
    backupSchedule: e.BACKUP_SCHEDULE,
    backupDir: e.BACKUP_DIR ?? path.join(e.DATA_DIR, 'backups'),
    backupKeep: parseKeepRule(e.BACKUP_KEEP),
    backupKeepText: e.BACKUP_KEEP,
    exportDailyRows: e.EXPORT_DAILY_ROWS,
    importUploadQuotaBytes: e.IMPORT_UPLOAD_QUOTA_MB * 1024 * 1024,
    readAlarmCards: e.READ_ALARM_CARDS,
    readAlarmMinutes: e.READ_ALARM_MINUTES,
    readAlarmFactor: e.READ_ALARM_FACTOR,
    readAlarmDays: e.READ_ALARM_DAYS,
    fileQuotaBytes: e.FILE_QUOTA_MB * 1024 * 1024,
    filePreviewCacheBytes: e.FILE_PREVIEW_CACHE_MB * 1024 * 1024,
    plugins: e.PLUGINS,
  };
}
