/** The plugin's part in the browser: an INN input that keeps digits only and groups them as you type. */
import { defineComponent, h, type PropType } from 'vue';
import type { PluginClient } from '../api';

/** The digits of what was typed or pasted, at most 12 (an INN has 10 or 12). */
export const innDigits = (text: string): string => text.replace(/\D/g, '').slice(0, 12);

/** 4 digits (tax office), then 6 (10: the number and check digit; 12: the number), then the last 2. */
export const groupedInn = (digits: string): string => [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].filter(Boolean).join(' ');

const InnInput = defineComponent({
  name: 'InnInput',
  inheritAttrs: false,
  props: {
    mode: { type: String, default: 'input' },
    field: { type: Object as PropType<{ key: string }>, required: true },
    modelValue: { type: [String, Number], default: '' },
    inputId: { type: String, default: undefined },
    invalid: Boolean,
    required: Boolean,
    describedBy: { type: String, default: undefined },
  },
  emits: { 'update:modelValue': (value: string) => typeof value === 'string' },
  setup(props, { emit }) {
    return () =>
      h('input', {
        id: props.inputId,
        type: 'text',
        inputmode: 'numeric',
        autocomplete: 'off',
        placeholder: '0000 000000 00',
        value: groupedInn(innDigits(String(props.modelValue ?? ''))),
        'aria-required': props.required || undefined,
        'aria-invalid': props.invalid || undefined,
        'aria-describedby': props.describedBy,
        'data-test': `input-${props.field.key}`,
        onInput: (event: Event) => {
          const input = event.target as unknown as { value: string };
          const digits = innDigits(input.value);
          input.value = groupedInn(digits);
          emit('update:modelValue', digits);
        },
      });
  },
});

const client: PluginClient = { components: { inn: { input: InnInput } } };

export default client;
