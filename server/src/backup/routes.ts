import { createReadStream } from 'node:fs';
import type Router from '@koa/router';
import { Types } from 'mongoose';
import { accessSnapshot } from '../access/snapshot';
import { recordAudit } from '../audit/service';
import { archiveOnDisk } from './graphql';
import { findBackup } from './service';

/** GET /backups/:id/download — the archive, for signed-in administrators only. */
export function backupRoutes(router: Router): void {
  router.get('/backups/:id/download', async (ctx) => {
    const { user, addressRefused } = ctx.state.auth;
    if (!user || addressRefused) {
      ctx.status = 401;
      return;
    }
    if (!(await accessSnapshot()).accessOf(String(user._id))?.isAdmin) {
      ctx.status = 403;
      return;
    }
    const backup = Types.ObjectId.isValid(ctx.params.id) ? await findBackup(ctx.params.id) : null;
    const file = backup && archiveOnDisk(backup);
    if (!backup || !file) {
      ctx.status = 404;
      return;
    }
    await recordAudit(
      { userId: user._id, login: user.login, ip: ctx.ip },
      { kind: 'backup-downloaded', targetType: 'backup', targetId: String(backup._id), summary: backup.file! },
    );
    ctx.type = 'application/gzip';
    ctx.attachment(backup.file!);
    if (backup.sizeBytes) ctx.length = backup.sizeBytes;
    ctx.body = createReadStream(file);
  });
}
