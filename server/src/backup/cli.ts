/**
 * `npm run backup -- --out DIR` and `npm run restore -- FILE [--force]`, against the configured
 * database (MONGODB_URI, else the embedded one under DATA_DIR, which the server must not be using
 * at the same time). `npm run restore -- --end-maintenance` lifts the read-only flag a failed
 * restore leaves behind (one still running keeps it, unless `--force`).
 *
 * Exit codes: 0 done; 1 refused or failed before anything was changed; 2 done, but the backup
 * did not read back / a history chain does not verify; 3 the restore failed after it began
 * replacing the database's contents (the database stays read-only until restored again).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { recordAudit } from '../audit/service';
import { ConfigError, loadConfig, type Config } from '../config';
import { openDatabase } from '../db/connect';
import { createLogger } from '../logger';
import { ArchiveError } from './archive';
import { endMaintenance } from './maintenance';
import { restoreArchive, RestoreFailed, RestoreRefused, type RestoreReport } from './restore';
import { runBackup, SYSTEM_ACTOR } from './service';

const USAGE = 'usage: npm run backup -- --out DIR\n       npm run restore -- FILE [--force]\n       npm run restore -- --end-maintenance [--force]';

const number = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Prints progress to stderr at most every 5 %. */
function progressPrinter(what: string) {
  let shown = -1;
  return (done: number, total: number) => {
    const percent = total > 0 ? Math.floor((done / total) * 20) * 5 : 100;
    if (percent === shown) return;
    shown = percent;
    process.stderr.write(`${what}: ${percent} % (${number(done)} of ${number(total)} documents)\n`);
  };
}

function printRestoreReport(report: RestoreReport, file: string, database: string): void {
  const { manifest, history, migration } = report;
  console.log(`Archive verified: ${path.basename(file)} (taken ${manifest.createdAt}, Kartoteka ${manifest.kartotekaVersion}, data model ${manifest.dataModelVersion})`);
  console.log(`Restored ${report.collections.length} collections, ${number(report.documents)} documents into "${database}" in ${seconds(report.durationMs)}`);
  console.log(
    migration.applied.length > 0 ? `Data model migrated ${migration.from} → ${migration.to}: ${migration.applied.join(', ')}` : `Data model ${migration.to}: no migration needed`,
  );
  const summary = `History: ${number(history.cards)} cards, ${number(history.chains)} with a history chain, ${number(history.entries)} entries`;
  if (history.broken.length === 0) console.log(`${summary} — every chain verifies`);
  else {
    console.log(`${summary} — ${history.broken.length} chains DO NOT verify:`);
    for (const broken of history.broken.slice(0, 50)) console.log(`  card ${broken.cardId}: entry ${broken.seq}: ${broken.reason}`);
  }
}

/**
 * Without MONGODB_URI the commands open the embedded database under DATA_DIR themselves, which a
 * running server must not be using at the same time: refuse when one answers on PORT.
 */
async function refuseWhileEmbeddedServerRuns(config: Config): Promise<void> {
  if (config.mongodbUri) return;
  const running = await fetch(`http://127.0.0.1:${config.port}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
    (response) => response.ok,
    () => false,
  );
  if (running) {
    throw new ConfigError([
      `a Kartoteka server answers on port ${config.port} and uses the embedded database under ${path.resolve(config.dataDir)}: stop it first (or take the backup from the console, «Резервные копии» → «Создать сейчас»)`,
    ]);
  }
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  const config = loadConfig();
  if (command === 'backup' || command === 'restore') await refuseWhileEmbeddedServerRuns(config);
  const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  if (command === 'backup') {
    const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
    if (!values.out) throw new ConfigError([`--out: the directory to write the backup to is required\n${USAGE}`]);
    const database = await openDatabase(config, logger);
    try {
      const backup = await runBackup({ dir: values.out, trigger: 'cli', server: database.kind, logger, onProgress: progressPrinter('backup') });
      console.log(`Backup written: ${path.join(backup.dir, backup.file!)}`);
      console.log(
        `${number(backup.documents!)} documents, ${megabytes(backup.sizeBytes!)}, ${seconds(backup.durationMs!)}, data model ${backup.dataModelVersion}, read back: ${backup.verification.state}`,
      );
      return backup.verification.state === 'verified' ? 0 : 2;
    } finally {
      await database.close();
    }
  }
  if (command === 'restore') {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { force: { type: 'boolean' }, 'end-maintenance': { type: 'boolean' } } });
    // The restore builds every index itself, from the archive.
    mongoose.set('autoIndex', false);
    mongoose.set('autoCreate', false);
    if (values['end-maintenance']) {
      const database = await openDatabase(config, logger);
      const ended = await endMaintenance(database.connection.db!, { force: values.force }).finally(() => database.close());
      if (ended === 'running') {
        console.error(
          `Maintenance flag kept: a restore into "${database.connection.name}" is running and would lose the changes let in now. ` +
            'Wait for it to finish; if its process is gone, the flag can be lifted 30 s after its last sign of life, or now with --force.',
        );
        return 1;
      }
      console.log(
        ended === 'lifted' ? 'Maintenance flag removed: servers on this database accept changes again.' : 'No maintenance flag: servers on this database accept changes.',
      );
      return 0;
    }
    if (positionals.length !== 1) throw new ConfigError([`one archive file is needed\n${USAGE}`]);
    const file = path.resolve(positionals[0]);
    const database = await openDatabase(config, logger);
    try {
      const report = await restoreArchive(file, { logger, force: values.force, onProgress: progressPrinter('restore') });
      printRestoreReport(report, file, database.connection.name);
      await recordAudit(SYSTEM_ACTOR, {
        kind: 'backup-restored',
        targetType: 'backup',
        targetId: path.basename(file),
        summary: `${report.documents} documents`,
        after: { history: { chains: report.history.chains, broken: report.history.broken.length } },
      });
      return report.history.broken.length === 0 ? 0 : 2;
    } catch (error) {
      if (error instanceof RestoreRefused || error instanceof ArchiveError) {
        console.error(`Restore refused: ${error.message}${error instanceof ArchiveError ? '. The database was not changed.' : ''}`);
        return 1;
      }
      if (error instanceof RestoreFailed) {
        console.error(`Restore FAILED: ${error.message}.`);
        console.error(`The database "${error.database}" WAS CHANGED: it holds part of the archive and stays read-only for servers (maintenance).`);
        console.error(`Fix the cause and restore again: npm run restore -- ${positionals[0]} --force`);
        console.error('or, to use the database as it is, lift the read-only flag: npm run restore -- --end-maintenance');
        return 3;
      }
      throw error;
    } finally {
      await database.close();
    }
  }
  throw new ConfigError([USAGE]);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const command = process.argv[2] === 'restore' ? 'Restore' : process.argv[2] === 'backup' ? 'Backup' : 'The command';
    console.error(error instanceof ConfigError ? error.message : `${command} failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
