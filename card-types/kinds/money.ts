import { decimalKind } from '../kernel/decimal-kind';

/** «Сумма»: an exact decimal with 2 digits after the point unless the field sets a scale. */
export default decimalKind({ key: 'money', labels: { ru: 'Сумма', en: 'Money' }, order: 50, defaultScale: 2, sample: '15000.00' });
