import type { Actor } from '../access/actor';
import { kindOf, type CardTypeDefinition, type FieldDefinition, type LocalizedText } from '../../../card-types';
import { findCardType, listCardTypes } from '../card-types/registry';
import { FieldErrors } from '../validation';
import { DuplicateSettings, KEYS_VERSION, type CommonValue, type DuplicateSettingsDoc, type MatchRule } from './model';

/** Similarity from which two names count as probable duplicates, unless an administrator sets another per type. */
export const DEFAULT_THRESHOLD = 0.7;

/**
 * The built-in rules: a counterparty by the same INN, phone or e-mail (normalised) or a similar
 * name; a contact person by the same e-mail or phone or a similar full name.
 */
export const BUILT_IN_RULES: Readonly<Record<string, readonly MatchRule[]>> = {
  counterparty: [
    { id: 'inn', fields: ['inn'], mode: 'exact' },
    { id: 'phone', fields: ['phone'], mode: 'exact' },
    { id: 'email', fields: ['email'], mode: 'exact' },
    { id: 'name', fields: ['name'], mode: 'similar' },
  ],
  'contact-person': [
    { id: 'email', fields: ['email'], mode: 'exact' },
    { id: 'phone', fields: ['phone'], mode: 'exact' },
    { id: 'name', fields: ['fullName'], mode: 'similar' },
  ],
};

/** Field kinds compared by similarity of text. */
const SIMILAR_KINDS: ReadonlySet<string> = new Set(['string', 'text']);

/**
 * Whether a rule may compare the field: exactly when its kind says what an equal value is (the
 * list filter's «equals»: phone digits, e-mails, INN/KPP/OGRN of the plugin kinds …), by
 * similarity when it is text.
 */
const comparable = (field: FieldDefinition, mode: MatchRule['mode']): boolean =>
  mode === 'exact' ? kindOf(field).filter.operators.includes('equals') : SIMILAR_KINDS.has(field.kind);

/** The rules in force for a type: fields it no longer has (or hides) are left out. */
export interface TypeRules {
  typeKey: string;
  threshold: number;
  rules: MatchRule[];
  /** True when an administrator's settings replace the built-in ones. */
  customized: boolean;
  /** Changes whenever the rules, the threshold or the way keys are made change: a scan made under others is stale. */
  fingerprint: string;
}

const CACHE_MS = 2000;
let cached: { at: number; settings: Promise<Map<string, DuplicateSettingsDoc>> } | undefined;

function allSettings(): Promise<Map<string, DuplicateSettingsDoc>> {
  if (!cached || Date.now() - cached.at > CACHE_MS) {
    const settings = DuplicateSettings.find({}, { trigramCounts: 0 })
      .lean<DuplicateSettingsDoc[]>()
      .then((docs) => new Map(docs.map((doc) => [doc._id, doc])));
    cached = { at: Date.now(), settings };
    settings.catch(() => (cached = undefined));
  }
  return cached.settings;
}

/** Forgets cached settings (this instance saved some, or a new database). */
export function forgetDuplicateSettings(): void {
  cached = undefined;
}

function usable(type: CardTypeDefinition, rule: MatchRule): boolean {
  return rule.fields.length > 0 && rule.fields.every((key) => type.fields.some((field) => field.key === key && !field.hidden && comparable(field, rule.mode)));
}

export function effectiveRules(type: CardTypeDefinition, settings: Pick<DuplicateSettingsDoc, 'threshold' | 'rules'> | undefined): TypeRules {
  const customized = Boolean(settings?.rules);
  const rules = (settings?.rules ?? (Object.hasOwn(BUILT_IN_RULES, type.key) ? BUILT_IN_RULES[type.key] : [])).filter((rule) => usable(type, rule));
  const threshold = settings?.threshold ?? DEFAULT_THRESHOLD;
  return { typeKey: type.key, threshold, rules, customized, fingerprint: JSON.stringify([KEYS_VERSION, threshold, rules.map((r) => [r.id, r.mode, r.fields])]) };
}

/** The rules of a type (none for an unknown type or one without rules). */
export async function rulesOf(typeKey: string): Promise<TypeRules | null> {
  const type = await findCardType(typeKey);
  if (!type) return null;
  return effectiveRules(type, (await allSettings()).get(typeKey));
}

/** Every type that has at least one rule. */
export async function typesWithRules(): Promise<TypeRules[]> {
  const settings = await allSettings();
  return (await listCardTypes()).map((type) => effectiveRules(type, settings.get(type.key))).filter((rules) => rules.rules.length > 0);
}

/** When the last scan of a type finished, if it ran under the rules now in force. */
export async function lastScan(rules: TypeRules): Promise<Date | null> {
  const settings = (await allSettings()).get(rules.typeKey);
  return settings?.scannedAt && settings.scannedRules === rules.fingerprint ? settings.scannedAt : null;
}

/** The common values (joining no cards) the last scan of the type met, if it ran under the rules now in force. */
export async function commonValuesOf(rules: TypeRules): Promise<CommonValue[]> {
  const settings = (await allSettings()).get(rules.typeKey);
  return settings?.scannedRules === rules.fingerprint ? (settings.commonValues ?? []) : [];
}

/** How a rule reads in the user's language: «ИНН — совпадение», «Наименование — похожее». */
export function ruleLabel(type: CardTypeDefinition, rule: Pick<MatchRule, 'fields' | 'mode'>, locale: Actor['locale']): string {
  const names = rule.fields.map((key) => type.fields.find((field) => field.key === key)?.label[locale] ?? key).join(' + ');
  const mode: LocalizedText = rule.mode === 'exact' ? { ru: 'совпадает', en: 'same' } : { ru: 'похоже', en: 'similar' };
  return `${names}: ${mode[locale]}`;
}

export interface RuleInput {
  id?: string | null;
  fields: string[];
  mode: string;
}

/** An administrator's rules checked against the type: field-level messages (`rules.1.fields`, `threshold`). */
export function checkRules(actor: Actor, type: CardTypeDefinition, threshold: number, input: RuleInput[]): { threshold: number; rules: MatchRule[] } {
  const t = (ru: string, en: string) => (actor.locale === 'ru' ? ru : en);
  const errors = new FieldErrors(actor.locale);
  if (!Number.isFinite(threshold) || threshold < 0.3 || threshold > 1)
    errors.addMessage('threshold', t('Порог сходства — от 0,3 до 1', 'The similarity threshold is from 0.3 to 1'));
  if (input.length > 20) errors.addMessage('rules', t('Не больше 20 правил', 'At most 20 rules'));
  const rules: MatchRule[] = [];
  const seen = new Set<string>();
  input.forEach((rule, index) => {
    const at = `rules.${index}`;
    if (rule.mode !== 'exact' && rule.mode !== 'similar') {
      errors.addMessage(`${at}.mode`, t('Сравнение: «exact» или «similar»', 'Comparison: “exact” or “similar”'));
      return;
    }
    const fields = [...new Set(rule.fields)];
    if (fields.length === 0 || fields.length > 5) errors.addMessage(`${at}.fields`, t('Выберите от 1 до 5 полей', 'Choose 1 to 5 fields'));
    for (const key of fields) {
      const field: FieldDefinition | undefined = type.fields.find((f) => f.key === key && !f.hidden);
      if (!field) errors.addMessage(`${at}.fields`, t(`Нет поля «${key}»`, `No field “${key}”`));
      else if (!comparable(field, rule.mode)) {
        errors.addMessage(
          `${at}.fields`,
          rule.mode === 'similar'
            ? t(`«${field.label.ru}»: похожими бывают только строки и тексты`, `“${field.label.en}”: only text fields can be similar`)
            : t(`«${field.label.ru}»: поле этого вида не сравнивается`, `“${field.label.en}”: fields of this kind are not compared`),
        );
      }
    }
    const id = (rule.id ?? '').trim() || `${rule.mode}-${fields.join('-')}`.toLowerCase();
    if (!/^[a-z][a-z0-9-]{0,63}$/i.test(id)) errors.addMessage(`${at}.id`, t('Латинские буквы, цифры и дефис', 'Latin letters, digits and dashes'));
    else if (seen.has(id)) errors.addMessage(`${at}.id`, t('Такое правило уже есть', 'This rule is already there'));
    seen.add(id);
    rules.push({ id, fields, mode: rule.mode });
  });
  errors.throwIfAny();
  return { threshold: Math.round(threshold * 100) / 100, rules };
}

/** Stores a type's rules and threshold; the stored keys and groups are then stale until the next scan. */
export async function saveRules(actor: Actor, typeKey: string, settings: { threshold: number; rules: MatchRule[] }): Promise<void> {
  await DuplicateSettings.updateOne({ _id: typeKey }, { $set: { threshold: settings.threshold, rules: settings.rules, updatedBy: actor.userId } }, { upsert: true });
  forgetDuplicateSettings();
}

/** Back to the built-in rules of a type. */
export async function resetRules(typeKey: string): Promise<void> {
  await DuplicateSettings.updateOne({ _id: typeKey }, { $set: { threshold: null, rules: null } });
  forgetDuplicateSettings();
}
