import { useI18n } from 'vue-i18n';
import type { CardReference, FieldDef, FieldValue } from '../api';
import { useCardTypesStore } from '../stores/cardTypes';
import { displayValue, type DisplayContext } from '../values';

/** Formats stored values for display in the current language, with user names and reference titles. */
export function useDisplay() {
  const { t, locale } = useI18n();
  const types = useCardTypesStore();

  /** How a reference reads: its title, marked when the card is in the trash; null for «нет доступа». */
  const referenceLabel = (ref: CardReference): string | null =>
    !ref.accessible || ref.title === null ? null : ref.inTrash ? `${ref.title} ${t('ws.referenceInTrash')}` : ref.title;

  function context(references: CardReference[] = [], titles: Record<string, string | null> | null = null): DisplayContext {
    return {
      locale: locale.value,
      userName: (id) => types.userName(id),
      referenceTitle: (id) => {
        if (titles && id in titles) return titles[id];
        const ref = references.find((r) => r.id === id);
        return ref ? referenceLabel(ref) : undefined;
      },
      noAccess: t('ws.noAccess'),
      yes: t('ws.yes'),
      no: t('ws.no'),
    };
  }

  const show = (field: FieldDef | undefined, value: FieldValue | undefined, references: CardReference[] = [], titles: Record<string, string | null> | null = null): string =>
    displayValue(field, value, context(references, titles));

  const label = (text: { ru: string; en: string } | undefined): string => (text ? (locale.value === 'en' ? text.en : text.ru) : '');

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

  return { show, label, sections, referenceLabel, locale };
}
