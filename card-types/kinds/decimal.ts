import { decimalKind } from '../kernel/decimal-kind';

/** «Десятичное число»: exact, up to 10 digits after the point unless the field sets a scale. */
export default decimalKind({ key: 'decimal', labels: { ru: 'Десятичное число', en: 'Decimal number' }, order: 40, sample: '3.14' });
