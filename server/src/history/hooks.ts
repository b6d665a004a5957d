import type { CardLifecycleHooks } from '../cards/lifecycle';
import { recordHistory } from './service';

export const historyHooks: CardLifecycleHooks = {
  name: 'history',
  beforeSave: recordHistory,
};
