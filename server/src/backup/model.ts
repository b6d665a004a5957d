import mongoose, { Schema, type Types } from 'mongoose';

export type BackupTrigger = 'schedule' | 'manual' | 'cli';
export type BackupState = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type VerificationState = 'pending' | 'verified' | 'failed';

/**
 * The catalog of backups taken by this installation: where each archive is, how big, how long it
 * took and whether reading it back matched its manifest. Not itself backed up (it describes files
 * on this server's disk).
 */
const backupSchema = new Schema(
  {
    trigger: { type: String, enum: ['schedule', 'manual', 'cli'], required: true },
    state: { type: String, enum: ['running', 'succeeded', 'failed', 'cancelled'], default: 'running' },
    dir: { type: String, required: true },
    file: { type: String, default: null },
    jobId: { type: Schema.Types.ObjectId, default: null },
    requestedBy: { type: Schema.Types.ObjectId, default: null },
    startedAt: { type: Date, required: true },
    finishedAt: { type: Date, default: null },
    durationMs: { type: Number, default: null },
    sizeBytes: { type: Number, default: null },
    documents: { type: Number, default: null },
    kartotekaVersion: { type: String, default: null },
    dataModelVersion: { type: Number, default: null },
    verification: {
      state: { type: String, enum: ['pending', 'verified', 'failed'], default: 'pending' },
      at: { type: Date, default: null },
      message: { type: String, default: null },
    },
    error: { type: String, default: null },
    /** Removed by the retention rule (BACKUP_KEEP); the entry stays for the record. */
    deletedAt: { type: Date, default: null },
  },
  { minimize: false },
);
backupSchema.index({ startedAt: -1 });

export interface BackupDoc {
  _id: Types.ObjectId;
  trigger: BackupTrigger;
  state: BackupState;
  dir: string;
  file: string | null;
  jobId: Types.ObjectId | null;
  requestedBy: Types.ObjectId | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  sizeBytes: number | null;
  documents: number | null;
  kartotekaVersion: string | null;
  dataModelVersion: number | null;
  verification: { state: VerificationState; at: Date | null; message: string | null };
  error: string | null;
  deletedAt: Date | null;
}

export const Backup = mongoose.model('Backup', backupSchema, 'backups');
