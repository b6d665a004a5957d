import { describe, expect, it } from 'vitest';
import { createApp, h, nextTick } from 'vue';
import { kindComponent } from '../src/field-kinds';
import { i18n } from '../src/i18n';

const field = { key: 'score', kind: 'rating', label: { ru: 'Оценка', en: 'Rating' } };

/** The rating a card view shows for a stored value. */
async function shown(value: number) {
  const host = document.createElement('div');
  document.body.append(host);
  createApp({ render: () => h(kindComponent(field), { mode: 'display', field, value }) })
    .use(i18n)
    .mount(host);
  await nextTick();
  return host.querySelector('.ws-rating')!;
}

describe('a rating on a card view', () => {
  it('shows stars and reads them out as «4 из 5»', async () => {
    const rating = await shown(4);
    expect(rating.textContent).toBe('★★★★☆');
    expect(rating.getAttribute('aria-label')).toBe('4 из 5');
  });

  it('shows a whole number kept from before the field was a rating (7) as it is, marked, and never reads it as «7 из 5»', async () => {
    const rating = await shown(7);
    expect(rating.textContent).toContain('⚠');
    expect(rating.textContent).toContain('7');
    expect(rating.textContent).not.toContain('★');
    expect(rating.getAttribute('aria-label')).toBeNull();
  });
});
