import { messages as kernelMessages } from '../../card-types';

/** Server-side messages in the user's language (Russian first). */
export type Locale = 'ru' | 'en';

const messages = {
  unauthenticated: { ru: 'Войдите в систему', en: 'Please sign in' },
  badCredentials: { ru: 'Неверный логин или пароль', en: 'Wrong login or password' },
  inactiveUser: { ru: 'Учётная запись отключена. Обратитесь к администратору', en: 'This account is deactivated. Contact your administrator' },
  throttled: {
    ru: 'Слишком много неудачных попыток входа. Повторите через {minutes} мин.',
    en: 'Too many failed sign-in attempts. Try again in {minutes} min.',
  },
  queryTimedOut: {
    ru: 'Запрос выполнялся слишком долго (больше {seconds} с) и остановлен: сузьте его — фильтром, поиском, меньшим числом строк — и повторите',
    en: 'The request took too long (over {seconds} s) and was stopped: narrow it — a filter, a search, fewer rows — and try again',
  },
  jobTakenOverTooOften: {
    ru: 'Задание прерывалось {times} раз подряд — сервер останавливался, выполняя его, — и остановлено, чтобы не останавливать сервер снова. Сделанное сохранено; причина — в журнале сервера',
    en: 'The job was interrupted {times} times in a row — the server stopped while running it — and has been stopped so as not to stop the server again. What it did is kept; the cause is in the server log',
  },
  signInBusy: {
    ru: 'Слишком много попыток входа на сервер (защита от подбора паролей): ваш пароль ещё не проверен — повторите через {seconds} с',
    en: 'Too many sign-in attempts on the server (protection against password guessing): your password has not been checked yet — try again in {seconds} s',
  },
  ipRefused: { ru: 'Вход с адреса {ip} запрещён для этой учётной записи', en: 'Access from {ip} is not allowed for this account' },
  required: { ru: 'Обязательное поле', en: 'Required' },
  tooLong: { ru: 'Не больше {max} символов', en: 'At most {max} characters' },
  passwordTooShort: { ru: 'Пароль должен быть не короче {min} символов', en: 'The password must have at least {min} characters' },
  wrongOldPassword: { ru: 'Текущий пароль указан неверно', en: 'The current password is wrong' },
  loginTaken: { ru: 'Логин «{login}» уже занят', en: 'The login “{login}” is already taken' },
  loginFormat: {
    ru: 'Логин: латинские буквы, цифры, точка, дефис, подчёркивание (3–64)',
    en: 'Login: latin letters, digits, dot, dash, underscore (3–64)',
  },
  emailFormat: { ru: 'Введите корректный e-mail', en: 'Enter a valid e-mail' },
  ipFormat: { ru: 'Неверный адрес или подсеть: {value}', en: 'Not an address or subnet: {value}' },
  invalidInput: kernelMessages.checkFields,
  notFound: { ru: '{what} не найден{ending}', en: '{what} not found' },
  forbidden: { ru: 'Недостаточно прав: {what}', en: 'Not allowed: {what}' },
  adminOnly: { ru: 'Доступно только администраторам', en: 'Administrators only' },
  folderNotEmpty: { ru: 'Папка не пуста: сначала переместите или удалите её содержимое', en: 'The folder is not empty: move or delete its contents first' },
  libraryNotEmpty: { ru: 'Библиотека не пуста: сначала удалите её папки', en: 'The library is not empty: delete its folders first' },
  folderCycle: { ru: 'Нельзя переместить папку внутрь неё самой', en: 'A folder cannot be moved into itself' },
  departmentCycle: { ru: 'Нельзя вложить подразделение само в себя', en: 'A department cannot be nested inside itself' },
  departmentNotEmpty: { ru: 'В подразделении есть пользователи или вложенные подразделения', en: 'The department still has users or sub-departments' },
  systemGroup: { ru: 'Системную группу нельзя переименовать', en: 'A system group cannot be renamed' },
  tooManyStreams: {
    ru: 'Открыто слишком много потоков обновлений для этого сеанса (не больше {max}). Закройте лишние вкладки Картотеки.',
    en: 'Too many live update streams are open for this session (at most {max}). Close some Kartoteka tabs.',
  },
  tooManyUserStreams: {
    ru: 'Открыто слишком много потоков обновлений под вашей учётной записью (не больше {max} во всех сеансах). Закройте лишние вкладки Картотеки или выйдите на других устройствах.',
    en: 'Too many live update streams are open under your account (at most {max} across all sessions). Close some Kartoteka tabs or sign out on other devices.',
  },
  tooManyRequests: {
    ru: 'Слишком много одновременных запросов от вас (больше {max}): подождите, пока выполнятся начатые, и повторите',
    en: 'Too many requests from you at once (over {max}): wait for those under way to finish and try again',
  },
  bodyTooLarge: {
    ru: 'Запрос слишком большой (больше {kb} КБ): сократите введённый текст или сохраните изменения по частям',
    en: 'The request is too large (over {kb} KB): shorten the text or save the changes in parts',
  },
  cannotDeactivateSelf: { ru: 'Нельзя отключить собственную учётную запись', en: 'You cannot deactivate your own account' },
  badCursor: { ru: 'Неверный курсор страницы: откройте список с начала', en: 'Invalid page cursor: open the list from the start' },
  badId: { ru: 'Неверный идентификатор', en: 'Not a valid identifier' },
  notWithIds: {
    ru: 'Не сочетается с ids: карточки по идентификаторам приходят в порядке ids, без сортировки и фильтров',
    en: 'Not with ids: cards by id come in the order of the ids, neither sorted nor filtered',
  },
  unpackedTooLarge: { ru: 'Файл слишком велик после распаковки', en: 'The file is too large once unpacked' },
  tooManyParts: { ru: 'В файле слишком много частей (больше {max})', en: 'The file has too many parts (over {max})' },
  controlCharacters: { ru: 'Недопустимые управляющие символы', en: 'Control characters are not allowed' },
  tooMany: { ru: 'Не больше {max} элементов', en: 'At most {max} items' },
  badFilter: { ru: 'Фильтр: нужны поле, условие и значения текстом', en: 'A filter needs a field, a condition and values as text' },
  badFilterValue: { ru: 'Значение не подходит к полю этого вида', en: 'The value does not suit a field of this kind' },
  httpsRequired: {
    ru: 'Вход возможен только по HTTPS. Администратору: поставьте перед сервером прокси с TLS, передающий X-Forwarded-Proto, и включите TRUST_PROXY',
    en: 'Signing in needs HTTPS. Administrators: put a TLS proxy that sends X-Forwarded-Proto in front of the server and set TRUST_PROXY',
  },
  notAnObject: { ru: 'Ожидаются значения полей: объект вида {"ключ поля": значение}', en: 'Field values are expected: an object {"field key": value}' },
  illFormedText: {
    ru: 'Текст содержит повреждённый символ (одиночный суррогат UTF-16): его нельзя сохранить как есть',
    en: 'The text contains a broken character (a lone UTF-16 surrogate) that cannot be stored as it is',
  },
  tooDeep: { ru: 'Слишком глубокая вложенность (больше {max})', en: 'Nested too deeply (more than {max})' },
  queryTooLarge: { ru: 'Запрос слишком велик (больше {max} лексем)', en: 'The query is too large (more than {max} tokens)' },
  wrongArgumentType: { ru: 'Значение не подходит к типу этого аргумента', en: 'The value does not suit the type of this argument' },
  unknownCardType: { ru: 'Нет типа карточки «{key}»', en: 'No card type “{key}”' },
  tooDeepQuery: { ru: 'Запрос слишком глубокий: не больше {max} уровней вложенности', en: 'The query is nested too deeply: at most {max} levels' },
  tooManyAliases: { ru: 'Слишком много псевдонимов в запросе: не больше {max}', en: 'Too many aliases in the query: at most {max}' },
  tooCostly: {
    ru: 'Запрос слишком дорогой: его стоимость {cost} больше предела {max}. Запросите меньше строк (first, ids) или меньше псевдонимов за раз',
    en: 'The query costs too much: {cost}, above the limit of {max}. Ask for fewer rows (first, ids) or fewer aliases at a time',
  },
  tooManyRows: { ru: 'Не больше {max} строк за один запрос', en: 'At most {max} rows at a time' },
  tooFewRows: { ru: 'Укажите целое число от 1', en: 'Give a whole number from 1' },
  noSuchField: { ru: 'Нет такого поля', en: 'No such field' },
  maintenance: {
    ru: 'Идёт восстановление из резервной копии: изменения временно недоступны, просмотр работает. Повторите позже',
    en: 'A restore from backup is under way: changes are unavailable for now, viewing works. Please try again later',
  },
} satisfies Record<string, Record<Locale, string>>;

export type MessageKey = keyof typeof messages;

/** Feminine nouns ending in «ь» (the ending alone says masculine for the rest, e.g. «Пользователь»). */
const FEMININE_SOFT = new Set(['запись', 'связь', 'роль', 'модель']);

/**
 * The ending of a Russian past participle («не найден», «не найдена», «не найдено») that agrees with
 * the noun heading `what` (its first word: «Тип карточки» → «Тип», masculine).
 */
export function participleEnding(what: string): '' | 'а' | 'о' {
  const head = (what.trim().split(/\s+/)[0] ?? '').toLowerCase();
  if (/[ая]$/.test(head) || FEMININE_SOFT.has(head)) return 'а';
  if (/[оеё]$/.test(head)) return 'о';
  return '';
}

export function message(locale: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
  if (key === 'notFound' && params.ending === undefined) params = { ...params, ending: participleEnding(String(params.what ?? '')) };
  return messages[key][locale].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** Picks ru or en from an Accept-Language header; Russian by default. */
export function localeFromHeader(header: string | undefined): Locale {
  const first = header?.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'ru';
}
