import { textKind } from '../kernel/text-kind';

/** «Многострочный текст»: lines kept, line ends normalised. */
export default textKind({ key: 'text', labels: { ru: 'Многострочный текст', en: 'Multi-line text' }, order: 20, multiline: true, maxLength: 20000, unique: false });
