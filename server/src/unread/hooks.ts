import type { CardLifecycleHooks } from '../cards/lifecycle';
import { readsAfterOwnChange, recordOwnChange } from './service';

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  beforeSave: recordOwnChange,
  afterCommit: readsAfterOwnChange,
  // A batch (an import, or its undo) leaves its author's read state as it is: the cards arrive
  // unread for them as for their colleagues. A receipt per card would make the read state of
  // whoever imports 100,000 cards that large (it is loaded whole); marking the folder read
  // (`markFolderRead`) is one write.
  beforeSaveBatch: async () => {},
  afterCommitBatch: () => {},
};
