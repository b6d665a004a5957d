import type mongoose from 'mongoose';
import type { Logger } from '../logger';

/** The driver's database handle (mongoose's own copy of the driver). */
export type Db = mongoose.mongo.Db;

export interface MigrationStep {
  /** The data-model version this step produces; steps are numbered 2, 3, 4… without gaps. */
  version: number;
  name: string;
  up(db: Db, logger: Logger): Promise<void>;
}
