import { createPinia } from 'pinia';
import { describe, expect, it, vi } from 'vitest';
import { createApp, h, nextTick } from 'vue';
import { i18n } from '../src/i18n';
import { installTransfer } from '../src/transfer';

vi.mock('../src/ability', () => ({ cardIn: () => 'Card', useAbility: () => ({ can: () => true }) }));
vi.mock('../src/workspace/live', async (importOriginal) => ({ ...(await importOriginal<object>()), onExportProgress: () => () => undefined }));

const { default: ExportMenu } = await import('../src/transfer/ExportMenu.vue');
installTransfer();

/** The search page's «Экспорт ▾» opened, for a search that found `found`. */
async function menuFor(found: { count: number; exact: boolean }) {
  const host = document.createElement('div');
  createApp({ render: () => h(ExportMenu, { search: 'Берёза s15', found }) })
    .use(createPinia())
    .use(i18n)
    .mount(host);
  await nextTick();
  host.querySelector<HTMLButtonElement>('[data-test="export"]')!.click();
  await nextTick();
  return host;
}

describe('exporting a search says what the file gets (s15 U6, #15)', () => {
  it('a search counted «не менее 418» offers every match, not «Найденное», and says the export counts them', async () => {
    const host = await menuFor({ count: 418, exact: false });
    expect(host.querySelector('[data-test="export-xlsx"]')?.textContent?.trim()).toBe('Все совпадения (не менее 418) — Excel (.xlsx)');
    expect(host.querySelector('[data-test="export-csv"]')?.textContent?.trim()).toBe('Все совпадения (не менее 418) — CSV (для Excel)');
    expect(host.querySelector('[data-test="export"]')?.getAttribute('title')).toMatch(/^Найдено не менее 418: в файл попадут все совпадения/);
  });

  it('a search counted exactly names its count', async () => {
    const host = await menuFor({ count: 1876, exact: true });
    expect(host.querySelector('[data-test="export-csv"]')?.textContent?.trim()).toBe('Найденное (1\u00a0876) — CSV (для Excel)');
  });
});
