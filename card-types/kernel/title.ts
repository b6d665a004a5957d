import type { CardTypeDefinition, CardValues } from './definition';
import { formatValue } from './format';
import type { Locale } from './locale';
import { ownValue } from './values';

const placeholder = /\{([^{}]*)\}/g;

/** The field keys a title template names, in order: `{number} от {date}` → ['number', 'date']. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(placeholder)].map((match) => match[1] ?? '');
}

/** True when every brace in the template belongs to a `{fieldKey}` pair. */
export function templateBracesBalanced(template: string): boolean {
  return !/[{}]/.test(template.replace(placeholder, ''));
}

/**
 * A card's title from its type's template: values formatted for the locale (dates «31.12.2024» in
 * Russian), missing values and hidden fields left out, spaces tidied; the type's name when no named field has a value.
 */
export function renderTitle(type: CardTypeDefinition, values: Readonly<CardValues>, locale: Locale = 'ru', timeZone = 'UTC'): string {
  const format = { locale, timeZone };
  let filled = false;
  const title = type.titleTemplate.replace(placeholder, (_, key: string) => {
    const field = type.fields.find((candidate) => candidate.key === key);
    const value = ownValue(values, key);
    if (!field || field.hidden || value === undefined) return '';
    const text = formatValue(field, value, format);
    filled ||= text !== '';
    return text;
  });
  return filled ? title.replace(/[^\S\u00a0]+/g, ' ').trim() : type.names[locale];
}
