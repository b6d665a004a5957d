import { useI18n } from 'vue-i18n';
import { useLabel } from '../workspace/composables/useLabel';
import { useCardTypesStore } from '../workspace/stores/cardTypes';
import type { DuplicateRule } from './api';

/**
 * How a matching rule reads in the interface language («Телефон: совпадает», «Phone: same»), made
 * from the type's field labels: the server's `label` is in the language the account had when the
 * page asked, which a change of language since (or an interface language that is not the
 * account's) leaves behind. A rule whose fields the type no longer shows keeps the server's label.
 */
export function useRuleLabel() {
  const { t } = useI18n();
  const label = useLabel();
  const types = useCardTypesStore();
  /** `fieldsOnly`: the fields' names without how they are compared («Телефон»). */
  return (typeKey: string, rule: Pick<DuplicateRule, 'fields' | 'mode' | 'label'>, fieldsOnly = false): string => {
    const fields = types.byKey.get(typeKey)?.fields ?? [];
    const names = rule.fields.map((key) => fields.find((field) => field.key === key)?.label);
    if (names.length === 0 || names.some((name) => name === undefined)) return rule.label;
    const joined = names.map((name) => label(name)).join(' + ');
    return fieldsOnly ? joined : `${joined}: ${t(rule.mode === 'exact' ? 'dup.rules.exact' : 'dup.rules.similar')}`;
  };
}

/**
 * The names of a type's fields in the interface language («ИНН», «INN»), by key; a key the type no
 * longer shows keeps the server's name at the same place (in the account's language).
 */
export function useFieldNames() {
  const label = useLabel();
  const types = useCardTypesStore();
  return (typeKey: string, keys: string[], serverNames: string[]): string[] => {
    const fields = types.byKey.get(typeKey)?.fields ?? [];
    return keys.map((key, index) => {
      const field = fields.find((candidate) => candidate.key === key);
      return field ? label(field.label) : (serverNames[index] ?? key);
    });
  };
}
