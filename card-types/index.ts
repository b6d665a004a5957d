/**
 * The card-type kernel, shared by the server and the client: card type definitions and their
 * validation, the field-kind registry (one module per kind in `kinds/`), parsing, formatting and
 * search normalisation of values, and titles: what every page that shows or edits cards needs.
 * Checking definitions and planning schema changes is in `card-types/definitions` (the type
 * designer and the server's type administration; it brings zod). Nothing in the kernel touches a
 * database or the DOM. The built-in card types are in `built-in/` (imported from there by the server).
 */
export type { Locale, LocalizedText } from './kernel/locale';
export {
  customizableFieldProperties,
  customizableTypeProperties,
  orderedFields,
  requiredForValues,
  visibleFields,
  type CardTypeDefinition,
  type CardValues,
  type CustomizableFieldProperty,
  type CustomizableTypeProperty,
  type EnumOption,
  type FieldBase,
  type FieldDefinition,
  type Origin,
  type RelatedTab,
  type RequiredFor,
  type StoredValue,
} from './kernel/definition';
export {
  defineFieldKind,
  fail,
  filterOperators,
  ok,
  unreadableText,
  UNREADABLE_MARK,
  type Carry,
  type CellValue,
  type ExportCell,
  type FieldKind,
  type FieldKindSpec,
  type FieldWith,
  type FilterOperator,
  type FormatOptions,
  type LinkTarget,
  type Outcome,
  type SearchContribution,
  type SettingsProblem,
  type SettingsShape,
  type StoredScalar,
} from './kernel/field-kind';
export type { SettingsKit } from './kernel/schemas';
export {
  cardTargets,
  fieldKinds,
  findFieldKind,
  isMultiValued,
  kindOf,
  prepareFieldKinds,
  referenceFieldsTo,
  registerFieldKind,
  sortsLists,
  usePluginFieldKinds,
} from './kernel/registry';
export {
  checkFieldValue,
  compileCardType,
  compileField,
  conformValues,
  defaultInput,
  isEmptyValue,
  MAX_CARD_SIZE,
  ownValue,
  validateCardValues,
  valuesSize,
  type CardValuesValidator,
  type FieldNormalizer,
  type FieldOutcome,
  type ValidationOptions,
  type ValidationResult,
} from './kernel/values';
export { cleanText } from './kernel/kind-parts';
export { formatValue } from './kernel/format';
export { excelSerialToDate, formatDate, formatDateTime, parseDate, parseDateTime } from './kernel/dates';
export { formatDecimal, parseDecimal } from './kernel/decimal';
export { renderTitle, templateBracesBalanced, templateFields } from './kernel/title';
export { exactKeysOfQuery, MAX_SEARCH_WORD_LENGTH, normaliseForSearch, searchIndexOf, searchWordsOf } from './kernel/search';
export { messages } from './kernel/messages';
export { extensionOf, fileTypeByName, fileTypeKeys, fileTypeOfContent, fileTypes, findFileType, type FilePreview, type FileType } from './kernel/file-types';
export { allowedFileTypes, DEFAULT_FILE_MAX_MB, FILE_MAX_MB_CEILING, fileRefusal, fileSizeLimit } from './kinds/file';
