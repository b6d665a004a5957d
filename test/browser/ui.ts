import { expect } from 'chai';
import { selectors, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureClientBuilt } from '../../server/src/http/client-build';
import { createLogger } from '../../server/src/logger';
import type { RunningServer } from '../../server/src/server';
import { DEMO_PASSWORD } from '../../seeds/demo';
import type { ApiClient } from '../support/api-client';
import { launchChromium } from '../support/browser';
import { signedIn, startTestServer } from '../support/server';

/** The client marks elements with `data-test`; playwright's getByTestId looks for `data-testid` unless told. */
export function useDataTestAttribute(): void {
  selectors.setTestIdAttribute('data-test');
}

/** What a browser suite starts with: the client built, a server on a free port, Chromium. */
export async function startBrowserSuite(env: Record<string, string> = {}): Promise<{ server: RunningServer; browser: Browser }> {
  useDataTestAttribute();
  await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
  const server = await startTestServer(env);
  return { server, browser: await launchChromium() };
}

/** A browser suite on the demo installation: a person signed in at 1280×800, an administrator's API client, the folders' ids by name. */
export interface DemoSuite {
  server: RunningServer;
  admin: ApiClient;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  folderIds: Record<string, string>;
}

export async function startDemoSuite(login: string): Promise<DemoSuite> {
  useDataTestAttribute();
  await ensureClientBuilt(createLogger({ logLevel: 'warn' }));
  const server = await startTestServer({ SEED_DEMO_DATA: 'true' });
  const admin = await signedIn(server);
  const data = await admin.data<{ libraries: { folders: { id: string; name: string }[] }[] }>('query { libraries { folders { id name } } }');
  const folderIds = Object.fromEntries(data.libraries.flatMap((library) => library.folders).map((folder) => [folder.name, folder.id]));
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signInThroughUi(page, server.url, login, DEMO_PASSWORD);
  return { server, admin, browser, context, page, folderIds };
}

export async function stopDemoSuite(suite: DemoSuite | undefined): Promise<void> {
  await suite?.context.close();
  await suite?.browser.close();
  await suite?.server.stop();
}

/** Signs in through the sign-in page and waits until the app has left it. */
export async function signInThroughUi(page: Page, baseUrl: string, login: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByTestId('signin-login').fill(login);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  await page.waitForURL((url) => url.pathname !== '/signin');
}

/** The text input or select inside a FormField (`field-<name>`), optionally inside a container. */
export function field(scope: Page | ReturnType<Page['getByTestId']>, name: string) {
  return scope.getByTestId(`field-${name}`).locator('input, select, textarea').first();
}

export async function expectText(page: Page, testId: string, expected: string | RegExp): Promise<void> {
  const locator = page.getByTestId(testId).first();
  await locator.waitFor();
  const text = (await locator.textContent())?.trim() ?? '';
  if (typeof expected === 'string') expect(text).to.equal(expected);
  else expect(text).to.match(expected);
}
