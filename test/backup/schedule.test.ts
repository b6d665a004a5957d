import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backupJob } from '../../server/src/backup/job';
import { Backup } from '../../server/src/backup/model';
import { backupsToDelete, parseKeepRule } from '../../server/src/backup/retention';
import { createUser } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';

type Row = { id: string; state: string; trigger: string; file: string | null; error: string | null; verification: { state: string } };
const BACKUPS = '{ backups { id state trigger file error verification { state } } }';

describe('backup schedule, retention and failures', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kartoteka-schedule-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the newest backup of each of the last days, weeks and months (BACKUP_KEEP)', () => {
    expect(parseKeepRule('7d,4w,12m')).to.deep.equal({ daily: 7, weekly: 4, monthly: 12 });
    expect(parseKeepRule('7 daily, 4 weekly, 12 monthly')).to.deep.equal({ daily: 7, weekly: 4, monthly: 12 });
    expect(() => parseKeepRule('7x')).to.throw(/"7x" is not a count of days/);
    // Two backups a day for 60 days up to 2026-03-01.
    const backups = [];
    for (let day = 0; day < 60; day += 1) {
      for (const hour of [3, 15]) backups.push({ id: `${day}-${hour}`, at: new Date(Date.UTC(2026, 0, 1 + day, hour)) });
    }
    const deleted = new Set(backupsToDelete(backups, { daily: 3, weekly: 2, monthly: 3 }).map((b) => b.id));
    const kept = backups.filter((b) => !deleted.has(b.id)).map((b) => b.at.toISOString().slice(0, 13));
    expect(kept).to.deep.equal([
      '2026-01-31T15', // the newest of January
      '2026-02-22T15', // the newest of the ISO week before the last
      '2026-02-27T15', // the last three days, the last week, the last month
      '2026-02-28T15',
      '2026-03-01T15',
    ]);
  });

  it('takes scheduled backups, one per slot however many instances fire, and applies the retention rule', async () => {
    const server = await startTestServer({ BACKUP_SCHEDULE: '* * * * * *', BACKUP_DIR: dir, BACKUP_KEEP: '1d' });
    try {
      const admin = await signedIn(server);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if ((await Backup.countDocuments({ trigger: 'schedule', state: 'succeeded' })) >= 3) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Retention 1d: of the scheduled backups only the newest is listed, its file on disk; the older
      // files are gone. The schedule fires every second, so a backup that just finished may be listed
      // for a moment before its own retention pass runs: wait for a listing between two passes.
      let scheduled: Row[] = [];
      let listedFileOnDisk = false;
      while (Date.now() < deadline) {
        scheduled = (await admin.data<{ backups: Row[] }>(BACKUPS)).backups.filter((b) => b.state === 'succeeded' && b.trigger === 'schedule');
        listedFileOnDisk = scheduled.length === 1 && existsSync(path.join(dir, scheduled[0].file!));
        if (listedFileOnDisk) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(scheduled).to.have.length(1);
      expect(listedFileOnDisk).to.equal(true);
      expect(scheduled[0].verification.state).to.equal('verified');
      const deleted = await Backup.find({ trigger: 'schedule', deletedAt: { $ne: null } }).lean();
      expect(deleted.length).to.be.at.least(1);
      expect(deleted.every((b) => !existsSync(path.join(b.dir, b.file!)))).to.equal(true);

      // Several instances firing the same slot: one job, the others are refused by the unique key.
      const slot = { uniqueKey: 'backup:2030-01-01T03:00:00' };
      const outcomes = await Promise.allSettled([backupJob.enqueue(null, { trigger: 'schedule' }, slot), backupJob.enqueue(null, { trigger: 'schedule' }, slot)]);
      expect(outcomes.map((o) => o.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
    } finally {
      await server.stop();
    }
  });

  it('a failed backup is shown to administrators and audited', async () => {
    const notADirectory = path.join(dir, 'occupied');
    await writeFile(notADirectory, 'a file where the backup directory should be');
    const server = await startTestServer({ BACKUP_DIR: notADirectory });
    try {
      const admin = await signedIn(server);
      const { createBackup } = await admin.data<{ createBackup: { id: string } }>('mutation { createBackup { id } }');
      let job: { state: string; error: string | null } = { state: 'queued', error: null };
      while (!['succeeded', 'failed'].includes(job.state)) {
        job = (await admin.data<{ job: typeof job }>('query($id: ID!) { job(id: $id) { state error } }', { id: createBackup.id })).job;
      }
      expect(job.state).to.equal('failed');
      expect(job.error).to.match(/EEXIST|ENOTDIR/);
      const { backups } = await admin.data<{ backups: Row[] }>(BACKUPS);
      expect(backups[0]).to.deep.include({ state: 'failed', trigger: 'manual', error: job.error });
      const audit = await admin.data<{ auditLog: { edges: { node: { summary: string } }[] } }>('{ auditLog(kind: "backup-failed") { edges { node { summary } } } }');
      expect(audit.auditLog.edges.map((e) => e.node.summary)).to.deep.equal([job.error]);
      // Only administrators see backups or start one.
      const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
      await createUser(admin, { login: 'clerk', fullName: 'Клерк', password: 'clerk-password-1', departmentId });
      const clerk = await signedIn(server, 'clerk', 'clerk-password-1');
      expect((await clerk.request('mutation { createBackup { id } }')).errors?.[0].extensions?.code).to.equal('FORBIDDEN');
      expect((await clerk.request(BACKUPS)).errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    } finally {
      await server.stop();
    }
  });
});
