// Pins GraphiQL as a person uses it, in a real Chromium with every request off this machine
// refused: the page renders offline, a dev token pasted into Headers runs the default query, and
// the result holds only that tenant's rows; Docs says where a token comes from until one is pasted,
// then shows that token's schema without its refresh button being pressed.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startHttpServer } from '../../src/server/http-server.js';
import { createLogger } from '../../src/server/logger.js';
import { useTestApp } from '../helpers/runtime.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('GraphiQL in Chromium', () => {
  const app = useTestApp('pglite');
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`,
      );
    }
    server = await startHttpServer({
      gateway: app.gateway,
      runtime: app.runtime,
      logger: createLogger('silent'),
      port: 0,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders offline and runs the default query with a pasted token', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const offMachine: string[] = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') {
        return route.continue();
      }
      offMachine.push(url.href);
      return route.abort();
    });
    await page.goto(`${server.url}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });

    const token = await app.token({ sub: '11', tenantId: 2, roles: ['admin'] });
    await page.getByText('Headers', { exact: true }).click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await headersEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));

    const answered = page.waitForResponse(
      (response) =>
        response.url().endsWith('/graphql') &&
        !!response.request().postData()?.includes('RecentOrders'),
    );
    await page.locator('.graphiql-execute-button').click();
    const response = await answered;
    expect(response.status()).toBe(200);
    const json = await response.json();
    const [row] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL',
    );
    expect(json.data.orders.totalCount).toBe(row!.n);
    // and the person sees it
    await expect
      .poll(() => page.locator('.result-window').innerText(), { timeout: 20_000 })
      .toMatch(new RegExp(`"totalCount":\\s*${row!.n}\\b`));
    expect(json.data.orders.nodes).toHaveLength(5);
    expect(offMachine).toEqual([]);
    await page.screenshot({ path: '.ormai/graphiql.png' });
  });

  it('Docs shows the schema of a token pasted into Headers, with no refresh pressed', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.url}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    await page.getByRole('button', { name: /documentation explorer/i }).click();
    // no token yet: the schema cannot be fetched, and Docs says where a token that works comes from
    await expect
      .poll(() => page.locator('.graphiql-doc-explorer').textContent(), { timeout: 20_000 })
      .toMatch(/Error fetching schema[\s\S]*dev token printed at start by ormai serve/);

    const introspected = page.waitForResponse(
      (response) =>
        response.url().endsWith('/graphql') &&
        !!response.request().postData()?.includes('__schema') &&
        !!response.request().headers().authorization?.startsWith('Bearer ey'),
    );
    const token = await app.token({ sub: '1', tenantId: 1, roles: ['agent'] });
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await headersEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    expect((await introspected).status()).toBe(200);

    const docs = page.locator('.graphiql-doc-explorer');
    await expect.poll(() => docs.textContent(), { timeout: 20_000 }).toMatch(/Root Types/);
    expect(await docs.textContent()).not.toMatch(/Error fetching schema/);
    // the agent's schema: Customer.email says it is masked
    await page.getByRole('link', { name: 'Query' }).first().click();
    await page.getByRole('link', { name: 'customers' }).first().click();
    await page.getByRole('link', { name: 'CustomerConnection' }).first().click();
    await page.getByRole('link', { name: 'Customer', exact: true }).first().click();
    await expect
      .poll(() => docs.textContent(), { timeout: 10_000 })
      .toMatch(/email[\s\S]*Masked for your role/);
  });
});
