import type { CardReference } from '../workspace/api';
import { useDisplay } from '../workspace/composables/useDisplay';
import { useCardTypesStore } from '../workspace/stores/cardTypes';

/** Kinds whose values do not tell one card of a group from another (labels, who handles it, files, long texts). */
const NOT_TELLING = new Set(['tags', 'user', 'file', 'text']);

/**
 * What tells a card from others whose titles read alike (namesakes in a group, «Похожие карточки»):
 * its values of the type's listed fields beyond the title — a contact's «Контрагент», phone and
 * e-mail, a company's INN —, joined by « · »; empty when it has none.
 */
export function useTellingValues() {
  const { show } = useDisplay();
  const types = useCardTypesStore();
  return (typeKey: string, card: { values: unknown; references: CardReference[] }): string => {
    const type = types.byKey.get(typeKey);
    if (!type) return '';
    const inTitle = new Set([...type.titleTemplate.matchAll(/\{(\w+)\}/g)].map((match) => match[1]));
    const values = card.values as Record<string, unknown>;
    return type.fields
      .filter((field) => field.listed && !field.hidden && !inTitle.has(field.key) && !NOT_TELLING.has(field.kind) && values[field.key] !== undefined)
      .map((field) => show(field, values[field.key] as never, card.references))
      .filter(Boolean)
      .join(' · ');
  };
}
