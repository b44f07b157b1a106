// This module is browser compatible.
/**
 * The page side of the browser tests: runs named cases inside the page and reports each one as plain data
 * (`PageCaseResult`), which the Deno side turns into test steps with {@linkcode stepResults} from
 * `./results.ts`.
 *
 * @module
 */

/**
 * The outcome of one case run in the page.
 *
 * @example
 * ```ts
 * import type { PageCaseResult } from "./page_cases.ts";
 *
 * const result: PageCaseResult = { name: "stat() works", ok: true, ms: 3 };
 * console.assert(result.ok);
 * ```
 */
export interface PageCaseResult {
  /** The case's name. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** Why it failed: the error's name, message, stack and causes. */
  error?: string;
  /** How long it ran. */
  ms: number;
}

/** One case to run in the page. */
export interface PageCase {
  /** What the case shows. */
  readonly name: string;
  /** Rejects when the case fails. */
  readonly fn: () => Promise<void>;
}

function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(
        `${e.stack ?? `${e.name}: ${e.message}`}${code === undefined ? "" : ` [code ${String(code)}]`}`,
      );
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join("\ncaused by: ");
}

/**
 * Runs `cases` one after another; a case that takes longer than `timeoutMs` (default 30 s) fails.
 *
 * @example
 * ```ts
 * import { runCases } from "./page_cases.ts";
 *
 * const results = await runCases([
 *   { name: "passes", fn: () => Promise.resolve() },
 *   { name: "fails", fn: () => Promise.reject(new Error("no")) },
 * ]);
 * console.assert(results[0].ok && !results[1].ok);
 * ```
 */
export async function runCases(
  cases: readonly PageCase[],
  options: { timeoutMs?: number } = {},
): Promise<PageCaseResult[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const results: PageCaseResult[] = [];
  for (const { name, fn } of cases) {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      results.push({ name, ok: true, ms: performance.now() - started });
    } catch (err) {
      results.push({ name, ok: false, error: describe(err), ms: performance.now() - started });
    } finally {
      clearTimeout(timer);
    }
  }
  return results;
}
