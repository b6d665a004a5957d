import type { CardLifecycleHooks } from '../cards/lifecycle';
import { recordHistory, recordHistoryBatch } from './service';

export const historyHooks: CardLifecycleHooks = {
  name: 'history',
  beforeSave: recordHistory,
  beforeSaveBatch: recordHistoryBatch,
};
