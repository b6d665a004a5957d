import { describe, expect, it } from 'vitest';
import { createApp, h, nextTick, ref } from 'vue';
import { kindComponent } from '../src/field-kinds';
import { registerServerKinds } from '../src/field-kinds/plugins';
import { i18n } from '../src/i18n';

const field = { key: 'inn', kind: 'inn', label: { ru: 'ИНН', en: 'INN' } };

/** Mounts the component the form would draw for the field, in `mode`, with a v-model. */
async function drawn(mode: 'input' | 'display', value = '') {
  const model = ref(value);
  const host = document.createElement('div');
  document.body.append(host);
  createApp({
    render: () =>
      h(kindComponent(field), { mode, field, modelValue: model.value, value: model.value, inputId: 'inn-input', 'onUpdate:modelValue': (next: string) => (model.value = next) }),
  })
    .use(i18n)
    .mount(host);
  await nextTick();
  return { host, model };
}

describe("a plugin's client components (russian-requisites' INN input)", () => {
  it('draws a plugin kind as text until the server lists it', async () => {
    const { host } = await drawn('input');
    expect(host.querySelector('input')?.getAttribute('placeholder')).toBeNull();
  });

  it('once the server lists the kind, the INN input keeps digits only and groups them as you type; the form gets the digits', async () => {
    registerServerKinds(['string', 'inn']);
    const { host, model } = await drawn('input');
    const input = host.querySelector<HTMLInputElement>('#inn-input')!;
    expect(input.getAttribute('inputmode')).toBe('numeric');
    input.value = '77-07 08a3893';
    input.dispatchEvent(new Event('input'));
    await nextTick();
    expect(input.value).toBe('7707 083893');
    expect(model.value).toBe('7707083893');
    input.value = '5001007322599999';
    input.dispatchEvent(new Event('input'));
    await nextTick();
    expect(input.value).toBe('5001 007322 59');
    expect(model.value).toBe('500100732259');
  });

  it('draws the modes the plugin does not draw as text (a card view shows the stored INN)', async () => {
    const { host } = await drawn('display', '7707083893');
    expect(host.textContent).toContain('7707083893');
    expect(host.querySelector('input')).toBeNull();
  });
});
