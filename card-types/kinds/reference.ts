import { defineFieldKind } from '../kernel/field-kind';
import { acceptObjectId, parseChoice } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

/** «Ссылка на карточку»: the id of a card of one of the `targets` types, or (`multiple`) several. */
export default defineFieldKind({
  key: 'reference',
  labels: { ru: 'Ссылка на карточку', en: 'Card reference' },
  order: 140,
  // No targets reads «choose which card types…» (settingsProblems), whether sent empty or left out.
  settingsSchema: (z) => ({ targets: z.optional(z.array(z.typeKey)), multiple: z.optional(z.boolean()) }),
  parse: (raw, field) => parseChoice(raw, { multiple: field.multiple === true, accept: acceptObjectId, invalid: messages.notReference }),
  filter: { operators: ['equals', 'in'] },
  index: { unique: (field) => field.multiple !== true, sortable: false },
  multiple: (field) => field.multiple === true,
  settingsProblems: (field) => ((field.targets ?? []).length === 0 ? [[['targets'], messages.noTargets]] : []),
  link: { to: 'card', targets: (field) => field.targets ?? [] },
});
