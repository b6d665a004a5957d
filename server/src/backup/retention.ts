/**
 * Which backups to keep: the newest of each of the last N days, ISO weeks and months that have a
 * backup (grandfather-father-son), like `7d,4w,12m`. The newest backup is always kept.
 */
export interface KeepRule {
  daily: number;
  weekly: number;
  monthly: number;
}

const UNITS: Record<string, keyof KeepRule> = { d: 'daily', daily: 'daily', w: 'weekly', weekly: 'weekly', m: 'monthly', monthly: 'monthly' };

/** Parses `7d,4w,12m` (also `7 daily, 4 weekly, 12 monthly`); throws with a readable message. */
export function parseKeepRule(text: string): KeepRule {
  const rule: KeepRule = { daily: 0, weekly: 0, monthly: 0 };
  const parts = text
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('must list what to keep, e.g. 7d,4w,12m');
  for (const part of parts) {
    const match = /^(\d+)\s*([a-z]+)$/i.exec(part);
    const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
    if (!match || !unit) throw new Error(`"${part}" is not a count of days (d), weeks (w) or months (m), e.g. 7d,4w,12m`);
    rule[unit] = Number(match[1]);
  }
  return rule;
}

function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return `${day.getUTCFullYear()}-W${Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7)}`;
}

const PERIODS: [keyof KeepRule, (date: Date) => string][] = [
  ['daily', (d) => d.toISOString().slice(0, 10)],
  ['weekly', isoWeek],
  ['monthly', (d) => d.toISOString().slice(0, 7)],
];

/** The ids of backups to delete: those no period of the rule keeps. */
export function backupsToDelete<T extends { id: string; at: Date }>(backups: T[], rule: KeepRule): T[] {
  const newestFirst = [...backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  const keep = new Set<string>(newestFirst.slice(0, 1).map((b) => b.id));
  for (const [unit, periodOf] of PERIODS) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      const period = periodOf(backup.at);
      if (seen.has(period)) continue;
      if (seen.size >= rule[unit]) break;
      seen.add(period);
      keep.add(backup.id);
    }
  }
  return newestFirst.filter((b) => !keep.has(b.id));
}
