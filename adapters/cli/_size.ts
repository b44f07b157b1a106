/**
 * Size flags (`--cache-max-bytes 10GB`) read as the Docker CLI reads its own (see src/parse_size.ts): bytes,
 * or a number with a unit k, m, g, t or p (powers of 1024).
 *
 * @module
 */
import { UsageError } from "./_args.ts";
import { parseSize } from "../../src/parse_size.ts";

/**
 * Reads the size `value` of `--flag` in bytes, or undefined when the flag was not given.
 *
 * @throws {UsageError} Naming the flag and the forms it takes.
 */
export function sizeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    throw new UsageError(
      `--${flag} must be a size such as 10GB, 512MiB, 500m or 1073741824 (bytes; units are powers of ` +
        `1024, as in Docker), got "${value}"`,
    );
  }
  return bytes;
}
