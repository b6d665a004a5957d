import type { Locale, LocalizedText } from './locale';

/** Russian genitive after «не больше / не меньше N …»: 1, 21, 31 … take the singular, the rest the plural. */
function ruGenitive(n: number, one: string, other: string): string {
  return new Intl.PluralRules('ru').select(n) === 'one' ? one : other;
}

function enPlural(n: number, one: string, other: string): string {
  return n === 1 ? one : other;
}

/** A text made for each language. */
export const inBoth = (make: (locale: Locale) => string): LocalizedText => ({ ru: make('ru'), en: make('en') });

/** Messages about card values and card type definitions, in both languages. */
export const messages = {
  required: { ru: 'Обязательное поле', en: 'Required' },
  /** A refusal as a whole (the server's BAD_USER_INPUT, a form that found problems before sending). */
  checkFields: { ru: 'Проверьте заполнение полей', en: 'Please check the fields' },
  unknownField: { ru: 'Неизвестное поле', en: 'Unknown field' },
  hiddenField: {
    ru: 'Поле скрыто администратором: его значения хранятся, но не меняются',
    en: 'The field is hidden by an administrator: its values are kept but not changed',
  },
  patternInputTooLong: (max: number) => ({
    ru: `Значение поля с шаблоном — не больше ${max} ${ruGenitive(max, 'символа', 'символов')}`,
    en: `A value checked against a pattern has at most ${max} ${enPlural(max, 'character', 'characters')}`,
  }),
  tooLong: (max: number) => ({
    ru: `Не больше ${max} ${ruGenitive(max, 'символа', 'символов')}`,
    en: `At most ${max} ${enPlural(max, 'character', 'characters')}`,
  }),
  tooShort: (min: number) => ({
    ru: `Не меньше ${min} ${ruGenitive(min, 'символа', 'символов')}`,
    en: `At least ${min} ${enPlural(min, 'character', 'characters')}`,
  }),
  invalidFormat: { ru: 'Неверный формат', en: 'Invalid format' },
  notText: { ru: 'Введите текст', en: 'Enter text' },
  notInteger: { ru: 'Введите целое число', en: 'Enter a whole number' },
  notNumber: { ru: 'Введите число', en: 'Enter a number' },
  numberTooLarge: { ru: 'Слишком большое число', en: 'The number is too large' },
  tooManyDecimals: (scale: number) => ({
    ru: `Не больше ${scale} ${ruGenitive(scale, 'знака', 'знаков')} после запятой`,
    en: `At most ${scale} ${enPlural(scale, 'decimal place', 'decimal places')}`,
  }),
  belowMin: (min: LocalizedText) => ({ ru: `Не меньше ${min.ru}`, en: `At least ${min.en}` }),
  aboveMax: (max: LocalizedText) => ({ ru: `Не больше ${max.ru}`, en: `At most ${max.en}` }),
  beforeMin: (min: LocalizedText) => ({ ru: `Не раньше ${min.ru}`, en: `Not before ${min.en}` }),
  afterMax: (max: LocalizedText) => ({ ru: `Не позже ${max.ru}`, en: `Not after ${max.en}` }),
  notDate: { ru: 'Введите дату в формате ДД.ММ.ГГГГ', en: 'Enter a date as YYYY-MM-DD' },
  noSuchDate: (text: string) => ({ ru: `Такой даты нет: ${text}`, en: `There is no such date: ${text}` }),
  notDateTime: { ru: 'Введите дату и время с часовым поясом', en: 'Enter a date and time with a time zone' },
  notBoolean: { ru: 'Выберите «да» или «нет»', en: 'Choose yes or no' },
  notOption: { ru: 'Выберите значение из списка', en: 'Choose a value from the list' },
  notSingle: { ru: 'Можно выбрать только одно значение', en: 'Only one value is allowed' },
  notEmail: { ru: 'Введите корректный e-mail', en: 'Enter a valid e-mail' },
  notPhone: { ru: 'Введите номер телефона, например +7 495 123-45-67', en: 'Enter a phone number, e.g. +7 495 123-45-67' },
  notUrl: { ru: 'Введите адрес сайта, например https://example.ru', en: 'Enter a web address, e.g. https://example.com' },
  notTags: { ru: 'Введите метки через запятую', en: 'Enter tags separated by commas' },
  tooManyItems: (max: number) => ({
    ru: `Не больше ${max} ${ruGenitive(max, 'значения', 'значений')}`,
    en: `At most ${max} ${enPlural(max, 'value', 'values')}`,
  }),
  cardTooLarge: (size: number, max: number) => ({
    ru: `Карточка слишком большая (символов: ${size.toLocaleString('ru')}, предел ${max.toLocaleString('ru')}) — сократите это поле`,
    en: `The card is too large (${size.toLocaleString('en')} characters, the limit is ${max.toLocaleString('en')}) — shorten this field`,
  }),
  tagTooLong: (max: number) => ({
    ru: `Метка не длиннее ${max} ${ruGenitive(max, 'символа', 'символов')}`,
    en: `A tag has at most ${max} ${enPlural(max, 'character', 'characters')}`,
  }),
  notReference: { ru: 'Неверная ссылка на карточку', en: 'Invalid card reference' },
  notUser: { ru: 'Неверная ссылка на пользователя', en: 'Invalid user reference' },
  notRating: { ru: 'Оценка — от 1 до 5', en: 'A rating is 1 to 5' },
  notFile: { ru: 'Неверная ссылка на файл', en: 'Invalid file reference' },
  fileTooLarge: (maxMb: number) => ({ ru: `Файл больше ${maxMb} МБ`, en: `The file is larger than ${maxMb} MB` }),
  fileEmpty: { ru: 'Файл пустой', en: 'The file is empty' },
  fileTypeNotAllowed: (allowed: string) => ({ ru: `Допустимые типы файлов: ${allowed}`, en: `Allowed file types: ${allowed}` }),
  /** A file whose name claims one type and whose content is another (`actual`; null: no known type) the field does not take. */
  fileTypeNotAsNamed: (name: string, claimed: string, actual: string | null, allowed: string) => ({
    ru: `Файл «${name}» — по содержимому ${actual ? `это ${actual}` : 'не файл известного типа'}, а не ${claimed}. Допустимые типы файлов: ${allowed}`,
    en: `By its content the file “${name}” is ${actual ? `a ${actual} file` : 'of no known type'}, not ${claimed}. Allowed file types: ${allowed}`,
  }),
  fileSizeLimit: (maxMb: number) => ({ ru: `От 1 до ${maxMb} МБ`, en: `1 to ${maxMb} MB` }),
  yes: { ru: 'Да', en: 'Yes' },
  no: { ru: 'Нет', en: 'No' },

  // schema changes
  kindChangeRefused: (from: LocalizedText, to: LocalizedText) => ({
    ru: `Поле типа «${from.ru}» нельзя преобразовать в «${to.ru}»`,
    en: `A field of kind “${from.en}” cannot become “${to.en}”`,
  }),
  codeFieldProperty: (property: string) => {
    const names: Record<string, LocalizedText> = {
      kind: { ru: 'тип поля', en: 'kind' },
      unique: { ru: 'уникальность', en: 'uniqueness' },
      required: { ru: 'обязательность', en: 'being required' },
      requiredFor: { ru: 'обязательность', en: 'being required' },
    };
    const name = Object.hasOwn(names, property) ? names[property] : { ru: `«${property}»`, en: `“${property}”` };
    return {
      ru: `Встроенное поле: ${name.ru} задаётся в коде и здесь не меняется. Можно изменить подпись, подсказку, раздел, порядок, показ в списке и скрытие`,
      en: `A built-in field: its ${name.en} is set in code and cannot be changed here. Its label, help, section, order, listing and hiding can be changed`,
    };
  },
  reservedKey: {
    ru: 'Этот ключ зарезервирован (constructor, toString, valueOf …): выберите другой',
    en: 'This key is reserved (constructor, toString, valueOf …): choose another one',
  },
  keyChangeRefused: { ru: 'Ключ поля изменить нельзя', en: 'A field key cannot be changed' },
  timeWouldBeLost: { ru: 'Время будет потеряно', en: 'The time of day would be lost' },
  valuesAltered: (count: number, example: { from: string; to: string } | undefined) => ({
    ru: `Преобразование изменит значения в карточках: ${count}${example ? ` (например, «${example.from}» станет «${example.to}»)` : ''}. Проверьте примеры и подтвердите изменение значений`,
    en: `The conversion would change values on cards: ${count}${example ? ` (e.g. “${example.from}” would become “${example.to}”)` : ''}. Check the examples and confirm changing the values`,
  }),

  // card type definitions
  invalidValue: { ru: 'Неверное значение', en: 'Invalid value' },
  unknownProperty: (name: string) => ({ ru: `Неизвестное свойство «${name}»`, en: `Unknown property “${name}”` }),
  kindSwitchedOff: (kind: string) => ({
    ru: `Тип поля «${kind}» сейчас недоступен (его модуль выключен): хранимое значение сохраняется, но изменить его нельзя`,
    en: `The field kind “${kind}” is unavailable now (its plugin is off): the stored value is kept but cannot be changed`,
  }),
  unknownKind: (kind: string) => ({ ru: `Неизвестный тип поля «${kind}»`, en: `Unknown field kind “${kind}”` }),
  typeKeyFormat: {
    ru: 'Ключ: строчные латинские буквы и цифры через дефис, например contact-person',
    en: 'Key: lower-case latin letters and digits joined by dashes, e.g. contact-person',
  },
  fieldKeyFormat: {
    ru: 'Ключ поля: латинские буквы и цифры, начиная со строчной буквы, например legalAddress',
    en: 'Field key: latin letters and digits starting with a lower-case letter, e.g. legalAddress',
  },
  fillIn: { ru: 'Заполните', en: 'Fill this in' },
  noFields: { ru: 'Добавьте хотя бы одно поле', en: 'Add at least one field' },
  tooManyFields: (max: number, count: number) => ({
    ru: `В типе карточек не больше ${max} полей, включая скрытые (сейчас ${count}): уберите лишние или заведите ещё один тип`,
    en: `A card type has at most ${max} fields, hidden ones included (now ${count}): remove some, or define another type`,
  }),
  duplicateFieldKey: (key: string) => ({ ru: `Поле с ключом «${key}» уже есть`, en: `There is already a field “${key}”` }),
  duplicateFieldLabel: (label: string) => ({
    ru: `Поле «${label}» уже есть — дайте этому полю другое название`,
    en: `There is already a field “${label}” — give this one another name`,
  }),
  duplicateTabKey: (key: string) => ({ ru: `Вкладка с ключом «${key}» уже есть`, en: `There is already a tab “${key}”` }),
  noOptions: { ru: 'Добавьте хотя бы один вариант', en: 'Add at least one option' },
  duplicateOption: (value: string) => ({ ru: `Вариант «${value}» повторяется`, en: `Option “${value}” is repeated` }),
  noTargets: { ru: 'Укажите, на карточки каких типов ссылается поле', en: 'Choose which card types the field refers to' },
  unknownCardType: (key: string) => ({ ru: `Нет типа карточек «${key}»`, en: `There is no card type “${key}”` }),
  minAboveMax: { ru: 'Минимум больше максимума', en: 'The minimum is above the maximum' },
  notForKind: { ru: 'Не применяется к полям этого типа', en: 'Does not apply to fields of this kind' },
  uniqueNotSupported: {
    ru: 'Уникальность не поддерживается для полей этого типа',
    en: 'Uniqueness is not supported for fields of this kind',
  },
  badPattern: { ru: 'Неверное регулярное выражение', en: 'Invalid regular expression' },
  requiredForOptional: { ru: 'Только для обязательного поля', en: 'Only for a required field' },
  sameTypeName: (name: string) => ({
    ru: `Тип «${name}» уже есть — выберите другое название`,
    en: `There is already a type “${name}” — choose another name`,
  }),
  notLength: { ru: 'Введите целое число символов', en: 'Enter a whole number of characters' },
  badScale: { ru: 'Знаков после запятой: от 0 до 10', en: 'Decimal places: 0 to 10' },
  badColour: { ru: 'Цвет в формате #RRGGBB', en: 'Colour as #RRGGBB' },
  templateNoPlaceholder: {
    ru: 'Шаблон должен содержать хотя бы одно поле в фигурных скобках, например {name}',
    en: 'The template needs at least one field in braces, e.g. {name}',
  },
  templateUnknownField: (key: string) => ({ ru: `В шаблоне неизвестное поле «${key}»`, en: `The template names an unknown field “${key}”` }),
  templateFieldKind: (key: string) => ({
    ru: `Поле «${key}» нельзя использовать в заголовке: это ссылка`,
    en: `Field “${key}” cannot be used in the title: it is a reference`,
  }),
  templateBraces: { ru: 'Непарная фигурная скобка в шаблоне', en: 'Unmatched brace in the template' },
  tabFieldMissing: (field: string, type: string) => ({
    ru: `У типа «${type}» нет поля-ссылки «${field}» на этот тип`,
    en: `Card type “${type}” has no reference field “${field}” to this type`,
  }),
} as const;

let activeLocale: Locale = 'ru';

/**
 * Runs `check` with messages in `locale`: the schemas' messages (`say`) are read while it runs.
 * Parsing is synchronous, so one language at a time is all there ever is.
 */
export function inLocale<T>(locale: Locale, check: () => T): T {
  const previous = activeLocale;
  activeLocale = locale;
  try {
    return check();
  } finally {
    activeLocale = previous;
  }
}

/** A zod message in the language of the check that is running (see `inLocale`). */
export function say(text: LocalizedText): { error: () => string } {
  return { error: () => text[activeLocale] };
}

/** The text in the language of the check that is running. */
export const current = (text: LocalizedText): string => text[activeLocale];
