import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve('test-artifacts/screenshots');

// Without the networking flags Chromium keeps dialling out on a machine with no network.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const chromiumAvailable = existsSync(CHROMIUM_PATH);

/** `describe` for browser suites: skipped, with a notice saying how to install Chromium, when it is missing. */
export function describeInBrowser(title: string, body: (this: Mocha.Suite) => void): void {
  if (!chromiumAvailable) {
    console.log(`  [browser tests skipped] ${CHROMIUM_PATH} not found. Install it with: apt-get install -y chromium`);
    describe.skip(title, body);
    return;
  }
  describe(title, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
}

/** Saves a screenshot under test-artifacts/screenshots (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** The bytes of the file the browser downloads when `click` runs. */
export async function downloaded(page: Page, click: () => Promise<void>): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
