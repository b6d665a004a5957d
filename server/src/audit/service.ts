import type { ClientSession, Types } from 'mongoose';
import { AuditEntry, type AuditKind } from './model';

export interface AuditActor {
  userId: Types.ObjectId | string | null;
  login: string;
  ip: string;
}

export interface AuditRecord {
  kind: AuditKind;
  targetType?: string;
  targetId?: string;
  summary?: string;
  before?: unknown;
  after?: unknown;
}

/** Appends one audit entry, inside the caller's transaction when one is given. */
export async function recordAudit(actor: AuditActor, record: AuditRecord, session?: ClientSession): Promise<void> {
  await AuditEntry.create(
    [
      {
        at: new Date(),
        kind: record.kind,
        actorId: actor.userId,
        actorLogin: actor.login,
        ip: actor.ip,
        targetType: record.targetType ?? '',
        targetId: record.targetId ?? '',
        summary: record.summary ?? '',
        before: record.before ?? null,
        after: record.after ?? null,
      },
    ],
    { session },
  );
}
