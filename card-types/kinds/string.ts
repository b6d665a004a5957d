import { textKind } from '../kernel/text-kind';

/** «Строка»: one line of text. */
export default textKind({ key: 'string', labels: { ru: 'Строка', en: 'Line of text' }, order: 10, multiline: false, maxLength: 500, unique: true });
