import type { CardLifecycleHooks } from '../cards/lifecycle';
import { readsAfterOwnChange, recordOwnChange } from './service';

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  beforeSave: recordOwnChange,
  afterCommit: readsAfterOwnChange,
};
