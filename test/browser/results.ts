/**
 * The Deno side of {@linkcode runCases}: one test step per case result that came back from the page.
 *
 * @module
 */

import type { PageCaseResult } from "./page_cases.ts";

/**
 * Registers one step per result on `t`; a failed case fails its step with the page's error.
 *
 * @example
 * ```ts ignore
 * import { stepResults } from "./results.ts";
 *
 * Deno.test("cases run in the page", async (t) => {
 *   const results = [{ name: "stat() works", ok: true, ms: 3 }];
 *   await stepResults(t, results);
 * });
 * ```
 */
export async function stepResults(
  t: Deno.TestContext,
  results: readonly PageCaseResult[],
  options: { prefix?: string } = {},
): Promise<void> {
  if (results.length === 0) throw new Error("The page reported no case results");
  for (const result of results) {
    await t.step(`${options.prefix ?? ""}${result.name}`, () => {
      if (!result.ok) throw new Error(`In Chromium: ${result.error ?? "failed"}`);
    });
  }
}
