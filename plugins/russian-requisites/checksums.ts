/**
 * Russian company and sole-trader identifiers, checked by their published algorithms:
 * ИНН (taxpayer number, 10 digits for organisations, 12 for individuals), КПП (registration
 * reason code), ОГРН (13 digits) and ОГРНИП (15 digits, sole traders).
 */

export type RequisiteProblem = 'format' | 'checksum';

/** (Σ weightᵢ·digitᵢ mod 11) mod 10 — the INN control digit. */
function innControl(digits: readonly number[], weights: readonly number[]): number {
  return (weights.reduce((sum, weight, index) => sum + weight * (digits[index] ?? 0), 0) % 11) % 10;
}

const inn10Weights = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const inn12Weights11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const inn12Weights12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

export function innProblem(inn: string): RequisiteProblem | undefined {
  if (!/^(\d{10}|\d{12})$/.test(inn)) return 'format';
  const digits = [...inn].map(Number);
  const valid =
    digits.length === 10 ? innControl(digits, inn10Weights) === digits[9] : innControl(digits, inn12Weights11) === digits[10] && innControl(digits, inn12Weights12) === digits[11];
  return valid ? undefined : 'checksum';
}

/** КПП: tax office code (4 digits), reason (2 digits or capital latin letters), serial number (3 digits). */
export function kppProblem(kpp: string): RequisiteProblem | undefined {
  return /^\d{4}[\dA-Z]{2}\d{3}$/.test(kpp) ? undefined : 'format';
}

/** ОГРН: the first 12 digits mod 11, mod 10, is the 13th; ОГРНИП: the first 14 mod 13, mod 10, is the 15th. */
export function ogrnProblem(ogrn: string): RequisiteProblem | undefined {
  if (!/^(\d{13}|\d{15})$/.test(ogrn)) return 'format';
  const modulus = ogrn.length === 13 ? 11n : 13n;
  return (BigInt(ogrn.slice(0, -1)) % modulus) % 10n === BigInt(ogrn.slice(-1)) ? undefined : 'checksum';
}
