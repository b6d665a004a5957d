import { describe, expect, it } from 'vitest';
import { createApp, defineComponent, h } from 'vue';
import { createPinia } from 'pinia';
import { i18n } from '../src/i18n';
import { useDisplay } from '../src/workspace/composables/useDisplay';
import { ru } from '../src/workspace/messages';
import type { CardReference } from '../src/workspace/api';

/** How a card's value names the cards it refers to, as the card view shows it. */
function shown(references: CardReference[]): string[] {
  let names: string[] = [];
  const probe = defineComponent({
    setup() {
      const { linkText } = useDisplay();
      const name = linkText(references);
      names = references.map((reference) => name(reference.id, 'card'));
      return () => h('div');
    },
  });
  createApp(probe).use(createPinia()).use(i18n).mount(document.createElement('div'));
  return names;
}

i18n.global.mergeLocaleMessage('ru', ru);

describe('a reference on a card view', () => {
  it('says a card deleted for good was deleted, where a card out of sight reads «нет доступа»', () => {
    const reference = { fieldKey: 'counterparty', typeKey: null, title: null, accessible: false, inTrash: false };
    expect(
      shown([
        { ...reference, id: 'a', deleted: true },
        { ...reference, id: 'b', deleted: false },
        { ...reference, id: 'c', title: 'ООО «Вега»', accessible: true, inTrash: true, deleted: false },
      ]),
    ).toEqual(['карточка удалена', 'нет доступа', 'ООО «Вега» (в корзине)']);
  });
});
