import type { CardLifecycleHooks } from '../cards/lifecycle';
import { readsAfterOwnChange, readsAfterOwnChanges, recordOwnChange, recordOwnChanges } from './service';

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  beforeSave: recordOwnChange,
  afterCommit: readsAfterOwnChange,
  beforeSaveBatch: recordOwnChanges,
  afterCommitBatch: readsAfterOwnChanges,
};
