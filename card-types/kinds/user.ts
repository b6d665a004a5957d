import { defineFieldKind } from '../kernel/field-kind';
import { acceptObjectId, parseChoice } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

/** «Пользователь»: the id of a user. */
export default defineFieldKind({
  key: 'user',
  labels: { ru: 'Пользователь', en: 'User' },
  order: 150,
  settingsSchema: () => ({}),
  parse: (raw) => parseChoice(raw, { multiple: false, accept: acceptObjectId, invalid: messages.notUser }),
  filter: { operators: ['equals', 'in'] },
  index: { unique: true, sortable: false },
  link: { to: 'user' },
});
