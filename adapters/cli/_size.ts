/**
 * Size flags (`--cache-max-bytes 10GB`) read as the Docker CLI reads its own (`docker builder prune
 * --keep-storage`, `docker run --memory`: go-units' `RAMInBytes`): a number, an optional unit k, m, g, t or p,
 * an optional `i` and `b`, any case, one space allowed; units are powers of 1024, so `10GB` is 10 GiB.
 *
 * @module
 */
import { UsageError } from "./_args.ts";

const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i)?(b)?$/i;
const POWERS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * Reads the size `value` of `--flag` in bytes, or undefined when the flag was not given.
 *
 * @throws {UsageError} Naming the flag and the forms it takes.
 */
export function sizeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = SIZE.exec(value.trim());
  // `5i` or `5ib` without a unit is not a size in go-units either.
  const bytes = m && !(m[3] && !m[2])
    ? Math.floor(Number(m[1]) * 1024 ** (m[2] ? POWERS[m[2].toLowerCase()] : 0))
    : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new UsageError(
      `--${flag} must be a size such as 10GB, 512MiB, 500m or 1073741824 (bytes; units are powers of ` +
        `1024, as in Docker), got "${value}"`,
    );
  }
  return bytes;
}
