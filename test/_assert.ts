/**
 * Small assertion helpers for tug's tests (JSR's @std/assert is not reachable from the build machines).
 * Shared by every test file, in src/ and adapters/ as well as test/.
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(value: unknown): string {
  return Deno.inspect(value, { depth: 10, colors: false, sorted: true, strAbbreviateSize: 500 });
}

/** Deep structural equality (plain objects, arrays, typed arrays, Map, Set, Date, RegExp, primitives). */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const bv = b as ArrayBufferView;
    const y = new Uint8Array(bv.buffer, bv.byteOffset, bv.byteLength);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) if (!m.has(k) || !equal(v, m.get(k))) return false;
    return true;
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    for (const v of a) if (!s.has(v)) return false;
    return true;
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Asserts that `condition` is truthy. */
export function assert(condition: unknown, message = "expected a truthy value"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Asserts deep equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}values differ\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/** Asserts deep inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  if (equal(actual, expected)) {
    throw new AssertionError(`${message ? message + ": " : ""}expected values to differ: ${show(actual)}`);
  }
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(text)} to include ${show(part)}`,
    );
  }
}

/** Asserts that `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new AssertionError(`${message ? message + ": " : ""}expected ${show(text)} to match ${pattern}`);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  err: unknown,
  ErrorType?: ErrorClass<E>,
  includes?: string,
  code?: string,
): E {
  if (ErrorType && !(err instanceof ErrorType)) {
    throw new AssertionError(`expected a ${ErrorType.name}, got ${show(err)}`);
  }
  if (!(err instanceof Error)) throw new AssertionError(`expected an Error, got ${show(err)}`);
  if (includes !== undefined && !err.message.includes(includes)) {
    throw new AssertionError(`expected the error message ${show(err.message)} to include ${show(includes)}`);
  }
  if (code !== undefined && (err as { code?: unknown }).code !== code) {
    throw new AssertionError(
      `expected error code ${code}, got ${show((err as { code?: unknown }).code)}: ${err.message}`,
    );
  }
  return err as E;
}

/** Options for {@linkcode assertThrows} and {@linkcode assertRejects}. */
export interface ErrorExpectation {
  /** A part the message must contain. */
  includes?: string;
  /** The `code` the error must carry. */
  code?: string;
}

/** Asserts that `fn` throws (optionally an instance of `ErrorType`); returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorType?: ErrorClass<E>,
  expectation: ErrorExpectation | string = {},
): E {
  const exp = typeof expectation === "string" ? { includes: expectation } : expectation;
  try {
    fn();
  } catch (err) {
    return checkError(err, ErrorType, exp.includes, exp.code);
  }
  throw new AssertionError("expected the function to throw");
}

/** Asserts that the promise (or async function) rejects; returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: Promise<unknown> | (() => Promise<unknown>),
  ErrorType?: ErrorClass<E>,
  expectation: ErrorExpectation | string = {},
): Promise<E> {
  const exp = typeof expectation === "string" ? { includes: expectation } : expectation;
  try {
    await (typeof fn === "function" ? fn() : fn);
  } catch (err) {
    return checkError(err, ErrorType, exp.includes, exp.code);
  }
  throw new AssertionError("expected the promise to reject");
}
