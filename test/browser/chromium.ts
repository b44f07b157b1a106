/**
 * Drives Debian's Chromium (`/usr/bin/chromium`) from Deno tests through npm `playwright-core`. The
 * browser is never downloaded: when `/usr/bin/chromium` is missing, {@linkcode launchChromium} fails and
 * says so. Every wait is bounded, and {@linkcode withChromium} closes the browser whatever happens.
 *
 * @module
 */

import { chromium } from "npm:playwright-core@^1.65.1";
import type { Browser, BrowserContext, Page } from "npm:playwright-core@^1.65.1";

export type { Browser, BrowserContext, Page };

/** Where Debian's chromium package installs the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags for a quiet headless browser in a container: no sandbox (no user namespaces), no background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Options for {@linkcode launchChromium}.
 *
 * @example
 * ```ts
 * import type { LaunchOptions } from "./chromium.ts";
 *
 * const options: LaunchOptions = { timeoutMs: 20_000, args: ["--lang=en-US"] };
 * console.assert(options.timeoutMs === 20_000);
 * ```
 */
export interface LaunchOptions {
  /** How long the launch may take (default 30 s). */
  timeoutMs?: number;
  /** Flags added to {@linkcode CHROMIUM_ARGS}. */
  args?: string[];
  /** The browser binary (default {@linkcode CHROMIUM_PATH}); never a downloaded one. */
  executablePath?: string;
}

/**
 * Starts headless Chromium. playwright-core gives the browser a fresh temporary profile and removes it on
 * close. Close it with `browser.close()` in a `finally`, or use {@linkcode withChromium}.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 *
 * const browser = await launchChromium();
 * try {
 *   console.log(browser.version());
 * } finally {
 *   await browser.close();
 * }
 * ```
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  try {
    await Deno.stat(executablePath);
  } catch {
    throw new Error(
      `Cannot start the browser tests: ${executablePath} is missing. Install Debian's chromium package ` +
        "(apt-get install chromium); tug's tests never download a browser.",
    );
  }
  return await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...options.args ?? []],
    timeout: options.timeoutMs ?? 30_000,
  });
}

/**
 * Runs `fn` with a fresh browser and closes it afterwards, also when `fn` throws.
 *
 * @example
 * ```ts ignore
 * import { withChromium } from "./chromium.ts";
 *
 * const version = await withChromium((browser) => Promise.resolve(browser.version()));
 * ```
 */
export async function withChromium<T>(
  fn: (browser: Browser) => Promise<T>,
  options: LaunchOptions = {},
): Promise<T> {
  const browser = await launchChromium(options);
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/** A page opened by {@linkcode openPage}, with what it logged. */
export interface TestPage {
  /** The page. */
  readonly page: Page;
  /** Its browser context (its own storage: IndexedDB, cache; shared by pages of the same context). */
  readonly context: BrowserContext;
  /** Uncaught page errors and `console.error` messages, in order. */
  readonly errors: string[];
  /** Every console message, `type: text`. */
  readonly console: string[];
  /** Closes the page (and the context when {@linkcode openPage} created it). */
  close(): Promise<void>;
}

/**
 * Options for {@linkcode openPage}.
 *
 * @example
 * ```ts
 * import type { OpenPageOptions } from "./chromium.ts";
 *
 * const options: OpenPageOptions = { timeoutMs: 10_000, viewport: { width: 390, height: 844 } };
 * console.assert(options.viewport?.width === 390);
 * ```
 */
export interface OpenPageOptions {
  /** Use this context (e.g. to share IndexedDB with another page); default: a new one. */
  context?: BrowserContext;
  /** Navigation and default action timeout (default 15 s). */
  timeoutMs?: number;
  /** Viewport size of a new context (default 1280 × 800). */
  viewport?: { width: number; height: number };
}

/**
 * Opens `url` in a new page, waits for its `load` event, and records its errors and console output.
 *
 * @example
 * ```ts ignore
 * import { openPage, withChromium } from "./chromium.ts";
 *
 * await withChromium(async (browser) => {
 *   const { page, errors, close } = await openPage(browser, "http://127.0.0.1:8080/");
 *   console.log(await page.title(), errors);
 *   await close();
 * });
 * ```
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: OpenPageOptions = {},
): Promise<TestPage> {
  const timeout = options.timeoutMs ?? 15_000;
  const own = options.context === undefined;
  const context = options.context ?? await browser.newContext({ viewport: options.viewport });
  const errors: string[] = [];
  const lines: string[] = [];
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.setDefaultNavigationTimeout(timeout);
    page.on("pageerror", (err) => errors.push(`page error: ${err.stack ?? err.message}`));
    page.on("console", (msg) => {
      lines.push(`${msg.type()}: ${msg.text()}`);
      if (msg.type() === "error") errors.push(`console.error: ${msg.text()}`);
    });
    await page.goto(url, { waitUntil: "load", timeout });
    return {
      page,
      context,
      errors,
      console: lines,
      close: async () => {
        await page.close();
        if (own) await context.close();
      },
    };
  } catch (err) {
    if (own) await context.close();
    throw err;
  }
}

/**
 * Imports the module at `modulePath` (served on the page's origin) inside the page, calls its export
 * `exportName` with `arg`, and returns what it resolves to (structured-clonable values only). Rejects with
 * the page's error, or after `timeoutMs` (default 60 s).
 *
 * @example
 * ```ts ignore
 * import { runPageModule } from "./chromium.ts";
 * import type { Page } from "./chromium.ts";
 *
 * async function contract(page: Page) {
 *   return await runPageModule<unknown[]>(page, "/store_page.js", "runContract", "idb");
 * }
 * ```
 */
export async function runPageModule<T>(
  page: Page,
  modulePath: string,
  exportName: string,
  arg?: unknown,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${modulePath} ${exportName}() did not settle within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const run = page.evaluate(
    async ({ modulePath, exportName, arg }) => {
      const module = await import(modulePath);
      if (typeof module[exportName] !== "function") {
        throw new Error(`${modulePath} exports no ${exportName}()`);
      }
      return await module[exportName](arg);
    },
    { modulePath, exportName, arg },
  ) as Promise<T>;
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
    // After a timeout the evaluation may still settle; its outcome no longer matters.
    run.catch(() => {});
  }
}

/** Where screenshots go: `test/artifacts/` (not committed; CI keeps it). */
export const ARTIFACTS_DIR: string = new URL("../artifacts/", import.meta.url).pathname;

/**
 * Saves a PNG screenshot of `page` as `test/artifacts/<name>.png` and returns its path.
 *
 * @example
 * ```ts ignore
 * import { saveScreenshot } from "./chromium.ts";
 * import type { Page } from "./chromium.ts";
 *
 * async function shoot(page: Page): Promise<string> {
 *   return await saveScreenshot(page, "layers-view", { fullPage: true });
 * }
 * ```
 */
export async function saveScreenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) {
    throw new TypeError(`Screenshot name ${JSON.stringify(name)} is not a file name`);
  }
  await Deno.mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = `${ARTIFACTS_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: options.fullPage ?? false });
  return path;
}
