/**
 * What an export's audit entries recorded (`export-started`, `cards-exported`,
 * `export-limit-reached`), in words for the audit log: the search or the selection, the list's
 * filters and sort with the fields' labels, the columns.
 */
import { listCardTypes } from '../card-types/registry';
import type { AuditDescriber, DescribedEntry } from '../audit/describe';
import type { CardFilter } from '../cards/queries';
import type { Locale } from '../i18n';

export const EXPORT_AUDIT_KINDS = ['export-started', 'cards-exported', 'export-limit-reached'] as const;

type Recorded = {
  search?: string;
  found?: number;
  leftOutWithoutRight?: number;
  selected?: string[];
  filters?: CardFilter[];
  sortBy?: string;
  descending?: boolean;
  columns?: string[];
};

const SYSTEM_FIELDS: Record<string, { ru: string; en: string }> = {
  title: { ru: 'Заголовок', en: 'Title' },
  createdAt: { ru: 'Создана', en: 'Created' },
  updatedAt: { ru: 'Изменена', en: 'Changed' },
};

const WORDS = {
  ru: {
    search: (text: string, found: number | undefined, left: number) =>
      `Поиск: «${text}»${found !== undefined ? ` (найдено ${found}${left > 0 ? `, в папках без права «Экспорт» — ${left}` : ''})` : ''}`,
    selected: (count: number) => `Выбранные карточки: ${count}`,
    noFilter: 'Без фильтров',
    filter: 'Фильтр',
    sort: 'Сортировка',
    columns: 'Столбцы',
    contains: 'содержит',
    range: (from: string, to: string) => [from && `от «${from}»`, to && `до «${to}»`].filter(Boolean).join(' '),
    oneOf: 'одно из',
    empty: 'пусто',
    notEmpty: 'заполнено',
    tags: 'с метками',
  },
  en: {
    search: (text: string, found: number | undefined, left: number) =>
      `Search: “${text}”${found !== undefined ? ` (${found} found${left > 0 ? `, ${left} in folders without the Export right` : ''})` : ''}`,
    selected: (count: number) => `Selected cards: ${count}`,
    noFilter: 'No filters',
    filter: 'Filter',
    sort: 'Sort',
    columns: 'Columns',
    contains: 'contains',
    range: (from: string, to: string) => [from && `from “${from}”`, to && `to “${to}”`].filter(Boolean).join(' '),
    oneOf: 'one of',
    empty: 'empty',
    notEmpty: 'filled in',
    tags: 'tagged',
  },
};

function filterWords(filter: CardFilter, label: string, locale: Locale): string {
  const w = WORDS[locale];
  const quoted = (value: string | null | undefined) => (locale === 'ru' ? `«${value ?? ''}»` : `“${value ?? ''}”`);
  const listed = (filter.values ?? []).map(quoted).join(', ');
  switch (filter.op) {
    case 'contains':
      return `${label} ${w.contains} ${quoted(filter.value)}`;
    case 'equals':
      return `${label} = ${quoted(filter.value)}`;
    case 'range':
      return `${label} ${w.range(filter.from ?? '', filter.to ?? '')}`;
    case 'in':
      return `${label}: ${w.oneOf} ${listed}`;
    case 'empty':
      return `${label} ${w.empty}`;
    case 'notEmpty':
      return `${label} ${w.notEmpty}`;
    case 'tags':
      return `${label} ${w.tags} ${listed}`;
    default:
      return label;
  }
}

/** The export entries of a page in words; the fields' labels are read once for the page. */
export const describeExports: AuditDescriber = async (entries: DescribedEntry[], locale) => {
  const labels = new Map<string, string>(Object.entries(SYSTEM_FIELDS).map(([key, label]) => [key, label[locale]]));
  for (const type of await listCardTypes()) for (const field of type.fields) if (!labels.has(field.key)) labels.set(field.key, field.label[locale]);
  const label = (key: string) => (locale === 'ru' ? `«${labels.get(key) ?? key}»` : `“${labels.get(key) ?? key}”`);
  const w = WORDS[locale];
  return entries.map((entry) => {
    const after = (entry.after && typeof entry.after === 'object' ? entry.after : {}) as Recorded;
    const parts: string[] = [];
    if (typeof after.search === 'string') parts.push(w.search(after.search, after.found, after.leftOutWithoutRight ?? 0));
    else if (Array.isArray(after.selected)) parts.push(w.selected(after.selected.length));
    else if (Array.isArray(after.filters))
      parts.push(after.filters.length > 0 ? `${w.filter}: ${after.filters.map((filter) => filterWords(filter, label(filter.field), locale)).join('; ')}` : w.noFilter);
    if (typeof after.sortBy === 'string') parts.push(`${w.sort}: ${label(after.sortBy)} ${after.descending ? '↓' : '↑'}`);
    if (Array.isArray(after.columns) && after.columns.length > 0) parts.push(`${w.columns}: ${after.columns.map((key) => labels.get(key) ?? key).join(', ')}`);
    return parts.length > 0 ? parts.join(' · ') : null;
  });
};
