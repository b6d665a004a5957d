import * as z from 'zod/mini';
import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { messages } from '../kernel/messages';

const parseFlag = (raw: unknown): boolean | undefined => (typeof raw === 'boolean' ? raw : raw === 'true' || raw === 'false' ? raw === 'true' : undefined);

/** «Да/нет». */
export default defineFieldKind({
  key: 'boolean',
  labels: { ru: 'Да/нет', en: 'Yes/no' },
  order: 80,
  settingsSchema: { default: z.optional(z.boolean()) },
  parse(raw) {
    const flag = parseFlag(raw);
    return flag === undefined ? fail(messages.notBoolean) : ok(flag);
  },
  format: (value, _field, { locale }) => messages[value === true ? 'yes' : 'no'][locale],
  filter: { operators: ['equals'], bound: parseFlag },
  sample: () => true,
});
