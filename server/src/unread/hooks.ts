import type { CardLifecycleHooks } from '../cards/lifecycle';
import { readsAfterOwnChange, recordOwnChange } from './service';

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  beforeSave: recordOwnChange,
  afterCommit: readsAfterOwnChange,
  // A batch leaves its author's read state as it is: its writer says what the author has read —
  // an import and its undo through batch receipts (recordOwnBatch), a merge through receipts of
  // the cards it names; a type change's cards keep their change times and read states.
  beforeSaveBatch: async () => {},
  afterCommitBatch: () => {},
};
