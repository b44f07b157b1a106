// This module is browser compatible.
/**
 * The text after a layer's status in `docker pull`: the bar and the byte counts.
 *
 * @module
 */
import { humanSize } from "./human_size.ts";

/** Options for {@linkcode formatProgress}. */
export interface FormatProgressOptions {
  /**
   * The terminal's width in columns. Docker draws the bar only when the width is over 110 and assumes 200
   * when it cannot tell (which is why Engine JSON messages always carry the bar).
   */
  readonly columns?: number;
}

// Docker's jsonmessage draws the bar only above this width; below it the counts alone are shown.
const BAR_MIN_COLUMNS = 111;
// Docker assumes this width when the output is not a terminal.
const DEFAULT_COLUMNS = 200;

/**
 * Formats byte progress exactly as Docker's `JSONProgress.String()` does for pulls:
 * `[` + `=` × n + `>` + spaces + `] ` (51 cells between the brackets, n = percent / 2) followed by
 * `current/total` in {@linkcode humanSize} units, the current value right-aligned in 8 cells.
 * With no total only the current count is shown; with neither, the result is empty; when current exceeds
 * total the total is left out, as Docker does for a wonky count.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./format_progress.ts";
 *
 * const text = formatProgress(12_345_678, 45_678_901);
 * console.assert(text === "[=============>" + " ".repeat(37) + "]  12.35MB/45.68MB");
 * console.assert(formatProgress(12_345_678, 45_678_901, { columns: 80 }) === " 12.35MB/45.68MB");
 * console.assert(formatProgress(999, undefined) === "    999B");
 * ```
 */
export function formatProgress(
  current: number | undefined,
  total: number | undefined,
  options: FormatProgressOptions = {},
): string {
  const cur = current !== undefined && current > 0 ? current : 0;
  const tot = total !== undefined && total > 0 ? total : 0;
  if (cur <= 0 && tot <= 0) return "";
  const currentText = humanSize(cur).padStart(8);
  if (tot <= 0) return currentText;
  const columns = options.columns ?? DEFAULT_COLUMNS;
  let bar = "";
  if (columns >= BAR_MIN_COLUMNS) {
    // Integer percent, then halved with integer division: 99.9% gives 49 "=" (Go's int() truncation).
    const filled = Math.min(50, Math.trunc(Math.trunc((cur / tot) * 100) / 2));
    bar = `[${"=".repeat(filled)}>${" ".repeat(50 - filled)}] `;
  }
  return bar + (cur > tot ? currentText : `${currentText}/${humanSize(tot)}`);
}
