import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GraphQLModule } from '../graphql/module';
import { requireAdmin } from '../graphql/guards';
import { User } from '../people/models';
import { perRequest } from '../graphql/loaders';
import DataLoader from 'dataloader';
import type { GraphQLContext } from '../graphql/context';
import { backupSettings, nextScheduledBackup, requestBackup } from './job';
import type { BackupDoc } from './model';
import { listBackups } from './service';
import { archiveIn } from './snapshot';

export const downloadPath = (backup: Pick<BackupDoc, '_id'>) => `/backups/${String(backup._id)}/download`;

/** The archive of a catalog entry, if it is a backup archive in this server's BACKUP_DIR and still there. */
export function archiveOnDisk(backup: BackupDoc): string | null {
  if (backup.state !== 'succeeded' || backup.deletedAt) return null;
  const dir = path.resolve(backupSettings().dir);
  const file = path.resolve(backup.dir) === dir ? archiveIn(dir, backup.file) : null;
  return file && existsSync(file) ? file : null;
}

function userNames(context: GraphQLContext) {
  return perRequest(
    context,
    'backup-user-names',
    () =>
      new DataLoader(async (ids: readonly string[]) => {
        const users = await User.find({ _id: { $in: ids } }, { fullName: 1 }).lean();
        const names = new Map(users.map((u) => [String(u._id), u.fullName]));
        return ids.map((id) => names.get(id) ?? null);
      }),
  );
}

export const backupModule: GraphQLModule = {
  typeDefs: /* GraphQL */ `
    type BackupVerification {
      "pending, verified (read back and matched its manifest) or failed"
      state: String!
      at: DateTime
      message: String
    }
    type Backup {
      id: ID!
      "schedule, manual or cli"
      trigger: String!
      "running, succeeded, failed or cancelled"
      state: String!
      file: String
      startedAt: DateTime!
      finishedAt: DateTime
      durationMs: Int
      sizeBytes: Float
      documents: Int
      kartotekaVersion: String
      dataModelVersion: Int
      verification: BackupVerification!
      error: String
      "The job that takes it (backups from the console and the schedule)."
      jobId: ID
      requestedByName: String
      "Where administrators download the archive; null when it is not on this server's disk."
      downloadUrl: String
    }
    type BackupSettings {
      directory: String!
      "Cron expression (BACKUP_SCHEDULE); null when the server takes no scheduled backups."
      schedule: String
      nextRun: DateTime
      "Retention rule (BACKUP_KEEP), e.g. 7d,4w,12m"
      keep: String!
    }
    extend type Query {
      "Administrators: backups, newest first."
      backups(first: Int = 50): [Backup!]!
      backupSettings: BackupSettings!
    }
    extend type Mutation {
      "Administrators: takes a backup now (a job; its progress arrives on jobEvents). A backup already under way is returned instead."
      createBackup: Job!
    }
  `,
  resolvers: {
    Query: {
      backups: async (_p, { first }: { first: number }, context) => {
        await requireAdmin(context);
        return listBackups(first);
      },
      backupSettings: async (_p, _a, context) => {
        await requireAdmin(context);
        const settings = backupSettings();
        return { directory: path.resolve(settings.dir), schedule: settings.schedule ?? null, nextRun: nextScheduledBackup(), keep: settings.keepText };
      },
    },
    Mutation: {
      createBackup: async (_p, _a, context) => {
        const actor = await requireAdmin(context);
        return requestBackup(actor.userId);
      },
    },
    Backup: {
      id: (backup: BackupDoc) => String(backup._id),
      jobId: (backup: BackupDoc) => (backup.jobId ? String(backup.jobId) : null),
      requestedByName: (backup: BackupDoc, _a, context) => (backup.requestedBy ? userNames(context).load(String(backup.requestedBy)) : null),
      downloadUrl: (backup: BackupDoc) => (archiveOnDisk(backup) ? downloadPath(backup) : null),
    },
  },
};
