import { useI18n } from 'vue-i18n';
import type { LinkTarget, StoredValue } from '../../../../card-types';
import { useFormat } from '../../field-kinds/format';
import { knownFiles } from '../../files/api';
import type { CardReference, FieldDef, FieldValue } from '../api';
import { useCardTypesStore } from '../stores/cardTypes';
import { useLabel } from './useLabel';

/** Formats stored values for display (the kernel's format) in the current language, with user names and reference titles. */
export function useDisplay() {
  const { t, locale } = useI18n();
  const types = useCardTypesStore();
  const format = useFormat();
  const label = useLabel();

  /** How a reference reads: its title, marked when the card is in the trash; «карточка удалена» once deleted for good; null for «нет доступа». */
  const referenceLabel = (ref: CardReference): string | null => {
    if (ref.deleted) return t('ws.referenceDeleted');
    if (!ref.accessible || ref.title === null) return null;
    return ref.inTrash ? `${ref.title} ${t('ws.referenceInTrash')}` : ref.title;
  };

  /** How an id reads: a user's name, a file's name, a referenced card's title (marked in the trash, «нет доступа» when hidden), «…» while loading. */
  function linkText(references: CardReference[] = [], titles: Record<string, string | null> | null = null) {
    return (id: string, target: LinkTarget): string => {
      if (target === 'user') return types.userName(id) ?? '…';
      // History names a file as it was then (its titles); elsewhere the file's name as it is known.
      if (target === 'file') return (titles && id in titles ? titles[id] : knownFiles.get(id)?.name) ?? t('files.file');
      const reference = references.find((r) => r.id === id);
      const title = titles && id in titles ? titles[id] : reference ? referenceLabel(reference) : undefined;
      return title === null ? t('ws.noAccess') : (title ?? '…');
    };
  }

  const show = (field: FieldDef | undefined, value: FieldValue | undefined, references: CardReference[] = [], titles: Record<string, string | null> | null = null): string => {
    if (value === null || value === undefined) return '';
    // A change that is no field names cards by id when it has their titles (a merge's «Объединена с …»):
    // those read as titles; other values (a folder's name) as they are.
    if (!field) {
      const cardTitle = linkText(references, titles);
      return [value]
        .flat()
        .map((item) => (titles && String(item) in titles ? cardTitle(String(item), 'card') : String(item)))
        .join(', ');
    }
    return format(field, value as StoredValue, linkText(references, titles));
  };

  /** Fields grouped by their section, in order of first appearance. */
  function sections(fields: FieldDef[]): { title: string; fields: FieldDef[] }[] {
    const groups: { title: string; fields: FieldDef[] }[] = [];
    for (const field of fields) {
      const title = label(field.section);
      let group = groups.find((g) => g.title === title);
      if (!group) groups.push((group = { title, fields: [] }));
      group.fields.push(field);
    }
    return groups;
  }

  return { show, label, sections, referenceLabel, linkText, locale };
}
