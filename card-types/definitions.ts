/**
 * The card-type kernel's definition part, for the type designer and the server's type
 * administration: checking a definition (zod schemas of the common shape and of each kind's
 * settings), the settings each kind has, and planning a change of the schema over stored values.
 * Kept apart from `card-types` (the values, kinds, formatting every page needs), so the pages that
 * show and edit cards load neither this nor zod.
 */
export {
  cardTypeDefinitionSchema,
  MAX_FIELDS_PER_TYPE,
  namesakeProblems,
  settingsSchemaOf,
  validateCardTypeDefinition,
  type DefinitionCheck,
  type DefinitionCheckOptions,
} from './kernel/definition-schema';
export {
  canConvertKind,
  fieldChangePlanner,
  fieldChangeReadsValues,
  lockedFieldChanges,
  mergeCodeAndAdminDefinition,
  planFieldChange,
  valueChanges,
  type DefinitionMerge,
  type DuplicateGroup,
  type ExistingValue,
  type FieldChangeOptions,
  type FieldChangePlan,
  type FieldChangePlanner,
  type ValueFailure,
  type ValueOutcome,
} from './kernel/schema-change';
