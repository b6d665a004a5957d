/**
 * Card types without a database: definitions as data, their validation, card value validation,
 * titles, and planning of schema changes. The registry and the cards service build on this.
 */
export { builtInCardTypes } from '../../../card-types/index';
export type {
  BooleanField,
  CardTypeDefinition,
  CardValues,
  ContactField,
  CustomizableFieldProperty,
  CustomizableTypeProperty,
  DateField,
  DateTimeField,
  DecimalField,
  EnumField,
  EnumOption,
  FieldDefinition,
  FieldKind,
  IntegerField,
  LocalizedText,
  Origin,
  ReferenceField,
  RelatedTab,
  StoredValue,
  TagsField,
  TextField,
  UserField,
} from './definition';
export {
  customizableFieldProperties,
  customizableTypeProperties,
  fieldKindLabels,
  fieldKinds,
  isMultiValued,
  orderedFields,
  visibleFields,
} from './definition';
export {
  cardTypeDefinitionSchema,
  validateCardTypeDefinition,
  type DefinitionCheck,
  type DefinitionCheckOptions,
} from './definition-schema';
export { compileCardType, validateCardValues, type CardValuesValidator, type ValidationOptions, type ValidationResult } from './values';
export { phoneDigits } from './phone';
export { formatValue } from './format';
export { renderTitle, templateFields } from './title';
export {
  canConvertKind,
  kindConversions,
  mergeCodeAndAdminDefinition,
  planFieldChange,
  type DefinitionMerge,
  type DuplicateGroup,
  type ExistingValue,
  type FieldChangePlan,
  type ValueFailure,
} from './schema-change';
