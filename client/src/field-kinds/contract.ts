/**
 * What a field kind's client component takes. One component per kind (`field-kinds/<kind>.vue`,
 * the kind's key as its file name) draws the kind three ways: `input` in card forms, `display` in
 * card views, `filter` in list columns.
 */
import type { FieldDefinition, LinkTarget, StoredValue } from '../../../card-types';
import type { CardFilter } from '../workspace/api';

export type KindMode = 'input' | 'display' | 'filter';

export interface KindProps {
  mode: KindMode;
  field: FieldDefinition;
  /** input: what the person has entered so far, in a form the kind's `parse` takes (a stored value is one). */
  modelValue?: unknown;
  /** input: the id of the control, for its label. */
  inputId?: string;
  invalid?: boolean;
  /** input: the field must be filled (exposed as aria-required; the mark beside the label is only seen). */
  required?: boolean;
  /** input: the id of the field's message or help, which describes the control (aria-describedby). */
  describedBy?: string;
  /** input: titles of picked cards by id (null: not accessible). */
  titles?: Record<string, string | null>;
  /** display: the stored value. */
  value?: StoredValue;
  /** display: how an id of a card or user reads. */
  linkText?: (id: string, target: LinkTarget) => string;
  /** filter: the column's filter in force. */
  filter?: CardFilter;
  /** filter: the column's name, for the controls' accessible names. */
  columnLabel?: string;
}

/** The attributes of a kind's input control: its id, for the label, and its state for assistive technology. */
export type ControlProps = Pick<KindProps, 'inputId' | 'invalid' | 'required' | 'describedBy'>;

export const controlAttrs = (props: ControlProps) => ({
  id: props.inputId,
  'aria-required': props.required ? true : undefined,
  'aria-invalid': props.invalid ? true : undefined,
  'aria-describedby': props.describedBy,
});

export interface KindEmits {
  /** input: the entered value changed. */
  'update:modelValue': [value: unknown];
  /** input: a card was picked (its id and title), so the form can show its title. */
  picked: [id: string, title: string];
  /** filter: the column's filter (null: none), applied after `delay` ms (typing waits, choosing does not). */
  filter: [filter: CardFilter | null, delay: number];
}
