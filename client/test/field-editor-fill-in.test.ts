import { describe, expect, it } from 'vitest';
import { createApp, h, nextTick, ref } from 'vue';
import FieldEditor from '../src/components/card-types/FieldEditor.vue';
import { newField } from '../src/components/card-types/draft';
import { i18n } from '../src/i18n';

/** The designer's editor of a field that becomes required while the last dry run found 3 cards without a value. */
async function requiredWithMissing(kind: string) {
  const host = document.createElement('div');
  document.body.append(host);
  const field = ref({ ...newField(kind), key: 'doc', label: { ru: 'Документ', en: 'Document' }, required: true });
  createApp({
    render: () =>
      h(FieldEditor, {
        modelValue: field.value,
        index: 1,
        position: 1,
        count: 2,
        errors: {},
        locked: false,
        typeOptions: [],
        takenKeys: [],
        missing: 3,
      }),
  })
    .use(i18n)
    .mount(host);
  await nextTick();
  return host;
}

describe('a field becoming required over cards without a value, in the type designer', () => {
  it('offers a value to fill in for a text field, and «required for new and edited cards only»', async () => {
    const host = await requiredWithMissing('string');
    expect(host.querySelector('[data-test="field-missing"] input[type="text"]')).not.toBeNull();
    expect(host.querySelector('[data-test="field-required-for"]')).not.toBeNull();
  });

  it('offers no value to fill in for a file field (a file belongs to one card), only «required for new and edited cards only»', async () => {
    const host = await requiredWithMissing('file');
    expect(host.querySelector('[data-test="field-missing"] input[type="text"]')).toBeNull();
    expect(host.querySelector('[data-test="field-required-for"]')?.textContent).toContain('Обязательно только для новых и изменяемых карточек');
  });
});
