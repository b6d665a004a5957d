import { describe, expect, it } from 'vitest';
import { createApp, h, nextTick } from 'vue';
import { findFieldKind } from '../../card-types';
import { kindComponent } from '../src/field-kinds';
import { missingKindPlugin, registerServerKinds } from '../src/field-kinds/plugins';
import { i18n } from '../src/i18n';

// The client's unit tests are built with PLUGINS naming test/fixtures/plugin-outside/index.ts by path (client/vite.config.ts).
const field = { key: 'share', kind: 'percent', label: { ru: 'Доля', en: 'Share' } };

describe('a plugin named by path in PLUGINS, outside plugins/', () => {
  it('brings its field kind and its display into the browser once the server lists the kind', async () => {
    expect(findFieldKind('percent')).toBeUndefined();
    expect(missingKindPlugin('percent')).toMatch(/test\/fixtures\/plugin-outside\/index\.ts$/);

    registerServerKinds(['percent']);
    expect(missingKindPlugin('percent')).toBeNull();
    expect(findFieldKind('percent')?.parse('42 %', field)).toEqual({ value: 42 });
    expect(findFieldKind('percent')?.parse('142', field)).toEqual({ error: { ru: 'Целое число от 0 до 100', en: 'A whole number from 0 to 100' } });

    const host = document.createElement('div');
    document.body.append(host);
    createApp({ render: () => h(kindComponent(field), { mode: 'display', field, value: 42 }) })
      .use(i18n)
      .mount(host);
    await nextTick();
    expect(host.querySelector('[data-test="percent"]')?.textContent).toBe('42 %');
  });
});
