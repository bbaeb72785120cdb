// Drives Debian's chromium with playwright-core for the report's browser tests and benchmark.
// Each page gets a fresh profile and records everything that would make a report unsafe or
// broken: console errors, uncaught exceptions, dialogs (an `alert` from data), and any request
// other than the report file itself (the page must never touch the network).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The browser the tests drive: Debian's `chromium` package, or UNSUB_CHROMIUM. */
export const CHROMIUM = process.env.UNSUB_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Makes sure chromium is installed: as root on Debian/Ubuntu it installs the `chromium` package
 * non-interactively (what `.ci/run` does too); otherwise it fails saying how to install it.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const canInstall =
    CHROMIUM === '/usr/bin/chromium' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (canInstall) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [
      ['update', '-qq'],
      ['install', '-y', '-qq', 'chromium'],
    ]) {
      const result = spawnSync('apt-get', args, { env, stdio: 'inherit', timeout: 600_000 });
      if (result.status !== 0) break;
    }
    if (existsSync(CHROMIUM)) return CHROMIUM;
  }
  throw new Error(
    `the browser tests need chromium at ${CHROMIUM}, and it is missing. Install it with ` +
      '`sudo apt-get install -y chromium` (Debian/Ubuntu; `.ci/run` does this when run as root), ' +
      'or point UNSUB_CHROMIUM at a Chromium or Chrome binary.',
  );
}

/**
 * The little of the DOM that callbacks run in the page (page.evaluate) use: the project's
 * tsconfig has no DOM lib, and adding it would change the Node typings of every file.
 */
export interface PageWindow {
  document: {
    getElementById(id: string): PageElement | null;
    querySelector(selector: string): PageElement | null;
    createElement(tag: string): PageElement;
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (event: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
    body: PageElement;
  };
  Event: new (type: string) => object;
  requestAnimationFrame(callback: () => void): number;
  fetch(url: string): Promise<unknown>;
}

export interface PageElement {
  value: string;
  src: string;
  innerHTML: string;
  click(): void;
  append(child: PageElement): void;
  dispatchEvent(event: object): boolean;
}

export interface ReportBrowser {
  context: BrowserContext;
  page: Page;
  /** The file:// URL of the report. */
  url: string;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  /**
   * Requests for anything but the report file itself that the page's own policy did not stop
   * first (those that reach the network layer are aborted there). Must stay empty.
   */
  requests: string[];
  /** Loads the report afresh and waits until the page script has drawn it. */
  load(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a report file in a fresh chromium profile. */
export async function openReport(
  htmlFile: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<ReportBrowser> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'unsub-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: ensureChromium(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const url = pathToFileURL(htmlFile).href;
  const report: ReportBrowser = {
    context,
    page: context.pages()[0] ?? (await context.newPage()),
    url,
    consoleErrors: [],
    pageErrors: [],
    dialogs: [],
    requests: [],
    async load() {
      await report.page.goto(url);
      await report.page.waitForSelector('html[data-ready="true"]', { state: 'attached' });
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
  // Anything but file:// would leave the machine: abort it, and record it as a failure.
  await context.route(
    (u) => u.protocol !== 'file:',
    (route) => route.abort(),
  );
  context.on('request', (request) => {
    if (request.url() !== url) report.requests.push(request.url());
  });
  // Chromium announces a request its Content-Security-Policy then refuses (failure text "csp"):
  // it never left the renderer, so it is not a network request.
  context.on('requestfailed', (request) => {
    if (request.failure()?.errorText !== 'csp') return;
    const i = report.requests.indexOf(request.url());
    if (i >= 0) report.requests.splice(i, 1);
  });
  report.page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(message.text());
  });
  report.page.on('pageerror', (error) => report.pageErrors.push(error.message));
  report.page.on('dialog', (dialog) => {
    report.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return report;
}
