/**
 * The card-type kernel, shared by the server and the client: card type definitions and their
 * validation, the field-kind registry (one module per kind in `kinds/`), parsing, formatting and
 * search normalisation of values, titles, and planning of schema changes. Nothing in it touches a
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
} from './kernel/field-kind';
export { fieldKinds, findFieldKind, isMultiValued, kindOf, prepareFieldKinds, registerFieldKind } from './kernel/registry';
export {
  cardTargets,
  cardTypeDefinitionSchema,
  namesakeProblems,
  referenceFieldsTo,
  validateCardTypeDefinition,
  type DefinitionCheck,
  type DefinitionCheckOptions,
} from './kernel/definition-schema';
export {
  checkFieldValue,
  compileCardType,
  compileField,
  defaultInput,
  isEmptyValue,
  validateCardValues,
  type CardValuesValidator,
  type FieldNormalizer,
  type FieldOutcome,
  type ValidationOptions,
  type ValidationResult,
} from './kernel/values';
export { formatValue } from './kernel/format';
export { excelSerialToDate, formatDate, formatDateTime, parseDate, parseDateTime } from './kernel/dates';
export { formatDecimal, parseDecimal } from './kernel/decimal';
export { renderTitle, templateBracesBalanced, templateFields } from './kernel/title';
export { exactKeysOfQuery, MAX_SEARCH_WORD_LENGTH, normaliseForSearch, searchIndexOf, searchWordsOf } from './kernel/search';
export { messages } from './kernel/messages';
export { extensionOf, fileTypeByName, fileTypeKeys, fileTypeOfContent, fileTypes, findFileType, type FilePreview, type FileType } from './kernel/file-types';
export { allowedFileTypes, DEFAULT_FILE_MAX_MB, FILE_MAX_MB_CEILING, fileRefusal, fileSizeLimit } from './kinds/file';
export {
  canConvertKind,
  fieldChangePlanner,
  fieldChangeReadsValues,
  mergeCodeAndAdminDefinition,
  planFieldChange,
  valueChanges,
  type DefinitionMerge,
  type FieldChangePlanner,
  type DuplicateGroup,
  type ExistingValue,
  type FieldChangeOptions,
  type FieldChangePlan,
  type ValueFailure,
  type ValueOutcome,
} from './kernel/schema-change';
