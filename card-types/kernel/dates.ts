import type { Locale } from './locale';

/** A stored 'YYYY-MM-DD' from 'YYYY-MM-DD' or «DD.MM.YYYY»; undefined unless it is a real calendar date. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RU_DATE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;

/** Whether a text is written as a date is (ДД.ММ.ГГГГ or ISO), whether or not that day exists. */
export const writtenAsDate = (raw: unknown): boolean => typeof raw === 'string' && (ISO_DATE.test(raw.trim()) || RU_DATE.test(raw.trim()));

export function parseDate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const iso = ISO_DATE.exec(text);
  const ru = RU_DATE.exec(text);
  const [year, month, day] = iso ? [iso[1], iso[2], iso[3]] : ru ? [ru[3], ru[2], ru[1]] : [];
  if (year === undefined || month === undefined || day === undefined) return undefined;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const valid = date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  return valid ? `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}` : undefined;
}

/** A stored ISO UTC instant from an ISO 8601 date-time that names its zone (`Z` or `+03:00`), or a Date. */
export function parseDateTime(raw: unknown): string | undefined {
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.toISOString();
  if (typeof raw !== 'string') return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i.exec(raw.trim());
  if (!match || parseDate(match[1]) === undefined) return undefined;
  if (Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[4] ?? 0) > 59) return undefined;
  const time = Date.parse(raw.trim().replace(' ', 'T'));
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** A day in a time zone, as 'YYYY-MM-DD'. */
export function isoDateIn(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** 'YYYY-MM-DD' → «31.12.2024» in Russian, 2024-12-31 in English. */
export function formatDate(isoDate: string, locale: Locale): string {
  if (locale === 'en') return isoDate;
  const [year, month, day] = isoDate.split('-');
  return `${day}.${month}.${year}`;
}

/** An ISO instant → «31.12.2024 23:59» (ru) or 2024-12-31 23:59 (en) in the given zone. */
export function formatDateTime(iso: string, locale: Locale, timeZone = 'UTC'): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${formatDate(`${part('year')}-${part('month')}-${part('day')}`, locale)} ${part('hour')}:${part('minute')}`;
}

const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;

/**
 * An Excel date serial (days since 30.12.1899; the fraction is the time of day) → the instant it
 * names in UTC, or undefined outside years 1900–9999. Serials below 61 fall before Excel's phantom
 * 29.02.1900 and are not dates anyone keeps in a client list.
 */
export function excelSerialToDate(serial: number): Date | undefined {
  if (!Number.isFinite(serial) || serial < 61 || serial >= 2_958_466) return undefined;
  return new Date(EXCEL_EPOCH_MS + Math.round(serial * DAY_MS));
}

/** A spreadsheet's date or date-time cell → 'YYYY-MM-DD' (a Date from a date cell, or an Excel serial). */
export function cellDate(cell: unknown): string | undefined {
  const date = typeof cell === 'number' ? excelSerialToDate(cell) : cell instanceof Date ? cell : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString().slice(0, 10) : undefined;
}

/**
 * A spreadsheet's date-time → an ISO instant: a Date cell, an Excel serial, or text without a zone
 * («31.12.2024 23:59», «2024-12-31 23:59:30»), read as UTC like the cells Excel writes.
 */
export function cellDateTime(cell: unknown): string | undefined {
  if (typeof cell === 'number') return excelSerialToDate(cell)?.toISOString();
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? undefined : cell.toISOString();
  if (typeof cell !== 'string') return undefined;
  const match = /^(\S+)[T ](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(cell.trim());
  const day = match ? parseDate(match[1]) : undefined;
  if (!match || !day) return undefined;
  return parseDateTime(`${day}T${match[2].padStart(2, '0')}:${match[3]}:${match[4] ?? '00'}Z`);
}

/** 'YYYY-MM-DD' → the Date an export writes into a date cell (UTC midnight, as Excel reads it). */
export const dateCell = (isoDate: string): Date => new Date(`${isoDate}T00:00:00.000Z`);
