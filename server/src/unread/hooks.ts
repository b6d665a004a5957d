import type { CardLifecycleHooks } from '../cards/lifecycle';
import { announceChange, recordOwnChange } from './service';

export const unreadHooks: CardLifecycleHooks = {
  name: 'unread',
  beforeSave: recordOwnChange,
  afterCommit: announceChange,
};
