/**
 * The staff workspace on a 100,000-card folder, in Chromium: time from navigation to the first
 * painted row, and frames over 50 ms while scrolling through 10,000 rows.
 * Run: npm run bench:paint   (needs /usr/bin/chromium)
 */
import { ensureClientBuilt } from '../server/src/http/client-build';
import { createLogger } from '../server/src/logger';
import { generateCounterparties } from '../seeds/generate';
import { launchChromium } from '../test/support/browser';
import { BENCH_ADMIN, benchDatabaseUri, printMachine, startBenchServer } from './support';

const CARDS = Number(process.env.BENCH_CARDS ?? 100_000);
const ROWS_TO_SCROLL = 10_000;

printMachine();
await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
const database = await benchDatabaseUri();
const server = await startBenchServer(database.uri);
const browser = await launchChromium();
try {
  const started = Date.now();
  const folderId = await generateCounterparties({ count: CARDS, folderName: 'Большая папка' });
  console.log(`database: ${database.kind}; ${CARDS.toLocaleString('en')} cards generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/signin`);
  await page.locator('[data-test="signin-login"]').fill(BENCH_ADMIN.login);
  await page.locator('[data-test="signin-password"]').fill(BENCH_ADMIN.password);
  await page.locator('[data-test="signin-submit"]').click();
  await page.locator('[data-test="folder-tree"]').waitFor();
  const paints: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    await page.goto(`${server.url}/`);
    await page.locator('[data-test="folder-tree"]').waitFor();
    const t0 = Date.now();
    await page.goto(`${server.url}/folders/${folderId}`);
    await page
      .locator('[data-test="card-row"]')
      .first()
      .waitFor()
      .catch(async (error: Error) => {
        await page.screenshot({ path: 'test-artifacts/bench-paint-failure.png' });
        throw error;
      });
    paints.push(Date.now() - t0);
  }
  console.log(`first list paint (navigation → first row), 5 runs: ${paints.join(', ')} ms; median ${[...paints].sort((a, b) => a - b)[2]} ms`);
  const scroll = await page.evaluate(async (rows) => {
    const grid = document.querySelector('[data-test="card-grid"]') as HTMLElement;
    const rowHeight = (document.querySelector('[data-test="card-row"]') as HTMLElement).getBoundingClientRect().height;
    const frames: number[] = [];
    let last = performance.now();
    while (grid.scrollTop < rows * rowHeight - grid.clientHeight && frames.length < 20_000) {
      grid.scrollTop += rowHeight * 5;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    return { frames: frames.length, over50: frames.filter((f) => f > 50).length, max: Math.round(Math.max(...frames)), reached: Math.round(grid.scrollTop / rowHeight) };
  }, ROWS_TO_SCROLL);
  console.log(`scrolling ${scroll.reached.toLocaleString('en')} rows, 5 rows a frame: ${scroll.frames} frames, ${scroll.over50} over 50 ms (longest ${scroll.max} ms)`);
} finally {
  await browser.close();
  await server.stop();
  await database.stop();
}
