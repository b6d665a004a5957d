import { useI18n } from 'vue-i18n';
import type { LinkTarget, StoredValue } from '../../../../card-types';
import { useFormat } from '../../field-kinds/format';
import type { CardReference, FieldDef, FieldValue } from '../api';
import { useCardTypesStore } from '../stores/cardTypes';
import { useLabel } from './useLabel';

/** Formats stored values for display (the kernel's format) in the current language, with user names and reference titles. */
export function useDisplay() {
  const { t, locale } = useI18n();
  const types = useCardTypesStore();
  const format = useFormat();

  return { show, label, sections, referenceLabel, linkText, locale };

  const label = useLabel();

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
