import mongoose, { Schema, type Types } from 'mongoose';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/**
 * One piece of long work. The runner holding `lease` runs it; an expired lease is taken over by
 * any instance, which resumes from `checkpoint`. Progress and the checkpoint stay when it is
 * cancelled or fails: what the job did is kept.
 */
const jobSchema = new Schema(
  {
    type: { type: String, required: true },
    /** Who asked for it; null for the server's own work (e.g. a scheduled backup). */
    ownerId: { type: Schema.Types.ObjectId, default: null },
    /** Who ran it again after it failed (`retryJob`), the latest of them, and from where; null until then. */
    continuedBy: { type: { userId: Schema.Types.ObjectId, ip: String }, default: null, _id: false },
    params: { type: Schema.Types.Mixed, default: {} },
    state: { type: String, enum: JOB_STATES, default: 'queued' },
    progress: {
      done: { type: Number, default: 0 },
      total: { type: Number, default: null },
      /** Items per second over the current run. */
      rate: { type: Number, default: null },
      secondsLeft: { type: Number, default: null },
      note: { type: String, default: '' },
      /** The stage of a job that works in stages (a key its page names); `done` and `total` count that stage's work. */
      stage: { type: String, default: '' },
    },
    checkpoint: { type: Schema.Types.Mixed, default: null },
    result: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
    cancelRequested: { type: Boolean, default: false },
    lease: {
      holder: { type: String, default: null },
      until: { type: Date, default: null },
    },
    /** How many times a runner started it (more than one after a restart or a lost lease). */
    runs: { type: Number, default: 0 },
    /**
     * How many times in a row it was taken over from a lapsed lease (its process died running it) without
     * storing a checkpoint since; 0 again when it is claimed from the queue or stores a checkpoint.
     */
    takeovers: { type: Number, default: 0 },
    /**
     * How many times its run lost the database and it went back to the queue (see MAX_DATABASE_LOSSES in
     * the runner); 0 again when `retryJob` runs it again, so «Продолжить» gets the whole allowance.
     */
    databaseLosses: { type: Number, default: 0 },
    /** At most one job per key, e.g. one scheduled backup per slot however many instances fire. */
    uniqueKey: { type: String, default: undefined },
    /** At most one unfinished job per key (e.g. one backup at a time); removed when the job finishes. */
    activeKey: { type: String, default: undefined },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, minimize: false },
);
jobSchema.index({ ownerId: 1, createdAt: -1 });
jobSchema.index({ state: 1, createdAt: 1 });
jobSchema.index({ type: 1, createdAt: -1 });
jobSchema.index({ uniqueKey: 1 }, { unique: true, partialFilterExpression: { uniqueKey: { $type: 'string' } } });
jobSchema.index({ activeKey: 1 }, { unique: true, partialFilterExpression: { activeKey: { $type: 'string' } } });

export interface JobProgress {
  done: number;
  total: number | null;
  rate: number | null;
  secondsLeft: number | null;
  note: string;
  /** The stage under way of a job that works in stages ('' otherwise): `done`, `total`, `rate` and `secondsLeft` are that stage's. */
  stage: string;
}

export interface JobDoc {
  _id: Types.ObjectId;
  type: string;
  ownerId: Types.ObjectId | null;
  continuedBy?: { userId: Types.ObjectId; ip: string } | null;
  params: Record<string, unknown>;
  state: JobState;
  progress: JobProgress;
  checkpoint: unknown;
  result: unknown;
  error: string | null;
  cancelRequested: boolean;
  lease: { holder: string | null; until: Date | null };
  runs: number;
  takeovers?: number;
  databaseLosses?: number;
  uniqueKey?: string;
  activeKey?: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const Job = mongoose.model('Job', jobSchema, 'jobs');
