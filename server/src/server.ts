import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import type { Config } from './config';
import { openDatabase, type Database } from './db/connect';
import type { Logger } from './logger';
import mongoose from 'mongoose';
import { ensureAdministrator, ensureSystemGroups } from './people/bootstrap';
import { resetThrottles } from './people/throttle';
import { setSignInChecksAtOnce } from './people/passwords';
import { syncCardTypes } from './cards/type-sync';
import { forgetCardTypes, listCardTypes } from './card-types/registry';
import { startEventHandlers, useRedisEventBus } from './events/bus';
import { watchAccessVersion } from './access/changes';
import { forgetAccessSnapshot } from './access/snapshot';
import { forgetReadStates } from './unread/service';
import { forgetSessions } from './people/sessions';
import { closeAllStreams } from './live/streams';
import { seedDemoData } from '../../seeds/demo';
import { migrateDatabase } from './migrations';
import { JobRunner } from './jobs/runner';
import { registerCardHooks } from './cards/lifecycle';
import { enablePlugins, registerPluginHooks, warnOfUnavailableKinds } from './cards/plugins';
import { registerCardFolderSteps } from './cards/service';
import { historyHooks } from './history/hooks';
import { fileHooks } from './files/hooks';
import { fileHistory, verifyRecordedFiles } from './files/service';
import { registerFieldChangeDescriber, registerRecordedContentCheck } from './history/service';
import { startFileCleanup } from './files/cleanup';
import { unreadHooks } from './unread/hooks';
import { createMetrics } from './metrics/metrics';
import { startBackups } from './backup/job';
import { underMaintenance } from './backup/maintenance';
import { duplicateHooks } from './duplicates/hooks';
import { forgetDuplicateState, scanStaleTypes } from './duplicates/start';
import { onCardRead } from './cards/reads';
import { countCardsReadInRequest } from './transfer/read-alarm';
import { describeAuditKinds } from './audit/describe';
import { describeExports, EXPORT_AUDIT_KINDS } from './transfer/audit-words';

/**
 * The modules' hooks into each other, registered here at start-up rather than when a module is
 * imported (registering twice changes nothing). History first: a failure to record it aborts the
 * change before anyone is told about it.
 */
function registerHooks(): void {
  registerCardHooks(historyHooks);
  registerCardHooks(unreadHooks);
  // Duplicates before files: a survivor deleted for good first gives the cards merged into it back
  // the files they handed it, then the files that are its own go.
  registerCardHooks(duplicateHooks);
  registerCardHooks(fileHooks);
  registerFieldChangeDescriber(fileHistory);
  registerRecordedContentCheck(verifyRecordedFiles);
  registerPluginHooks();
  registerCardFolderSteps();
  onCardRead(countCardsReadInRequest);
  describeAuditKinds(EXPORT_AUDIT_KINDS, describeExports);
}

/**
 * The configured plugins (their field kinds join the kernel's), the hooks, then pending data-model migrations, indexes (so unique rules hold from the first
 * request), the system groups and, on an empty database, the first administrator.
 * Returns whether the database was empty.
 */
export async function prepareDatabase(config: Config, logger: Logger): Promise<boolean> {
  await enablePlugins(config.plugins, logger);
  registerHooks();
  resetThrottles();
  forgetCardTypes();
  forgetAccessSnapshot();
  forgetReadStates();
  forgetSessions();
  forgetDuplicateState();
  await migrateDatabase(logger);
  await Promise.all(Object.values(mongoose.models).map((model) => model.init()));
  await ensureSystemGroups();
  await syncCardTypes(logger);
  await warnOfUnavailableKinds(await listCardTypes(), logger);
  return ensureAdministrator(config, logger);
}

export interface RunningServer {
  url: string;
  port: number;
  database: Database;
  /** The background job runner of this instance. */
  jobs: JobRunner;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then closes the database. */
  stop(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

export async function startServer(config: Config, logger: Logger, options: { clientDist: string; dbName?: string; monitorCommands?: boolean }): Promise<RunningServer> {
  const metrics = config.metricsToken ? createMetrics() : undefined;
  setSignInChecksAtOnce(config.signInChecksAtOnce);
  const database = await openDatabase(config, logger, { dbName: options.dbName, monitorCommands: options.monitorCommands ?? Boolean(metrics) });
  if (metrics) metrics.watchDatabase(database.connection.getClient());
  const closeEventBus = config.redisUrl ? await useRedisEventBus(config.redisUrl) : async () => {};
  logger.info({ eventBus: config.redisUrl ? 'redis' : 'in-process' }, 'event bus ready');
  const stopEventHandlers = startEventHandlers((error) => logger.error({ err: error }, 'event handler failed'));
  const stopAccessWatch = watchAccessVersion((error) => logger.warn({ err: error }, 'reading the access version failed'));
  const wasEmpty = await prepareDatabase(config, logger);
  if (wasEmpty && config.seedDemoData) await seedDemoData(logger);
  await scanStaleTypes(logger);
  // While a restore replaces this database's contents, no job starts and running ones pause.
  const jobs = new JobRunner({ logger, paused: underMaintenance });
  jobs.start();
  const stopBackups = startBackups(config, database.kind, logger);
  const stopFileCleanup = startFileCleanup(logger);
  const app = createApp({ config, logger, database, clientDist: options.clientDist, metrics });
  const server = http.createServer(app.callback());
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost}:${port}`;
  logger.info({ url, database: database.kind }, 'Kartoteka is listening');
  if (config.isProduction && !config.trustProxy) {
    logger.warn('production sends session cookies over HTTPS only: serve Kartoteka behind an HTTPS proxy and set TRUST_PROXY=true, or nobody can sign in');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      stopBackups();
      stopFileCleanup();
      closeAllStreams();
      await jobs.stop();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      stopAccessWatch();
      await stopEventHandlers();
      await closeEventBus();
      await database.close();
      logger.info('Kartoteka stopped');
    })());
  return { url, port, database, jobs, stop };
}
