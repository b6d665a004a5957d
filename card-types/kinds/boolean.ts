import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { messages } from '../kernel/messages';

const parseFlag = (raw: unknown): boolean | undefined => (typeof raw === 'boolean' ? raw : raw === 'true' || raw === 'false' ? raw === 'true' : undefined);

/** «Да/нет». */
export default defineFieldKind({
  key: 'boolean',
  labels: { ru: 'Да/нет', en: 'Yes/no' },
  order: 80,
  settingsSchema: (z) => ({ default: z.optional(z.boolean()) }),
  parse(raw) {
    const flag = parseFlag(raw);
    return flag === undefined ? fail(messages.notBoolean) : ok(flag);
  },
  stored: 'boolean',
  format: (value, _field, { locale }) => messages[value === true ? 'yes' : 'no'][locale],
  fromCell: (cell) => {
    const word = typeof cell === 'number' ? String(cell) : typeof cell === 'string' ? cell.trim().toLocaleLowerCase('ru') : cell;
    if (typeof word !== 'string') return word;
    if (['да', 'yes', 'true', 'истина', '1', '+', 'y', 'д'].includes(word)) return true;
    if (['нет', 'no', 'false', 'ложь', '0', '-', 'n', 'н'].includes(word)) return false;
    return word;
  },
  toCell: (value) => ({ value: value === true }),
  filter: { operators: ['equals'], bound: parseFlag },
  sample: () => true,
});
