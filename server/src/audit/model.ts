import mongoose, { Schema } from 'mongoose';

export type AuditKind =
  | 'sign-in'
  | 'sign-in-failed'
  | 'sign-out'
  | 'password-changed'
  | 'password-reset'
  | 'user-created'
  | 'user-updated'
  | 'department-created'
  | 'department-updated'
  | 'department-deleted'
  | 'group-created'
  | 'group-updated'
  | 'group-members-changed'
  | 'library-created'
  | 'library-updated'
  | 'library-deleted'
  | 'folder-created'
  | 'folder-updated'
  | 'folder-deleted'
  | 'access-changed'
  | 'card-type-created'
  | 'card-type-updated'
  | 'card-type-history-switched'
  | 'card-purged'
  | 'backup-created'
  | 'backup-failed'
  | 'backup-downloaded'
  | 'backup-restored'
  | 'cards-imported'
  | 'import-checked'
  | 'import-undone'
  | 'export-started'
  | 'cards-exported'
  | 'export-refused'
  | 'export-limit-reached'
  | 'bulk-reading'
  | 'file-downloaded'
  | 'file-previewed'
  | 'file-version-removed'
  | 'duplicates-dismissed'
  | 'duplicates-dismissal-undone'
  | 'duplicates-dismissal-lapsed';

/** Append-only: nothing in the application updates or deletes these documents. */
const auditEntrySchema = new Schema({
  at: { type: Date, required: true },
  kind: { type: String, required: true },
  actorId: { type: Schema.Types.ObjectId, default: null },
  actorLogin: { type: String, default: '' },
  ip: { type: String, default: '' },
  targetType: { type: String, default: '' },
  targetId: { type: String, default: '' },
  summary: { type: String, default: '' },
  before: { type: Schema.Types.Mixed, default: null },
  after: { type: Schema.Types.Mixed, default: null },
});
auditEntrySchema.index({ at: -1 });
auditEntrySchema.index({ kind: 1, at: -1 });
auditEntrySchema.index({ actorId: 1, at: -1 });

export const AuditEntry = mongoose.model('AuditEntry', auditEntrySchema);
