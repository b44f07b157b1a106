// This module is browser compatible.
/**
 * A streaming tar writer: POSIX ustar headers, with PAX extended headers for what ustar cannot hold (names
 * longer than its 100 + 155 bytes, sizes of 8 GiB and more). Bodies are streamed through as they come, so
 * an archive of any size is written with one entry's chunk in memory at a time.
 *
 * @module
 */

/** One member for {@linkcode writeTar}. */
export interface TarWriterEntry {
  /** Path inside the archive (`blobs/sha256/…`); directories get a trailing `/` if they lack one. */
  name: string;
  /** Default `"file"`. */
  type?: "file" | "directory" | "symlink";
  /** Size of the body in bytes (files only). */
  size?: number;
  /** The body (files only): exactly `size` bytes, or the archive stream errors. */
  body?: ReadableStream<Uint8Array> | Uint8Array;
  /** Permission bits (default 0o644 for files, 0o755 for directories, 0o777 for symlinks). */
  mode?: number;
  /** Modification time in seconds since the epoch (default 0, which keeps archives reproducible). */
  mtime?: number;
  /** Target of a symlink. */
  linkname?: string;
}

const BLOCK = 512;
/** The largest size an 11-digit octal field holds (8 GiB − 1); larger sizes go in a PAX `size` record. */
const MAX_OCTAL_SIZE = 0o77777777777;
const encoder = new TextEncoder();

function octal(block: Uint8Array, offset: number, width: number, value: number): void {
  const text = Math.max(0, Math.trunc(value)).toString(8).padStart(width - 1, "0").slice(-(width - 1));
  block.set(encoder.encode(text), offset);
  block[offset + width - 1] = 0;
}

function paxRecord(key: string, value: string): Uint8Array {
  // POSIX pax: "%d %s=%s\n", the decimal length counting the whole record including itself.
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return encoder.encode(`${length}${body}`);
}

/** Splits a name into ustar prefix (≤ 155 bytes) and name (≤ 100 bytes) at a slash, when it can be done. */
function split(name: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  if (name.length <= 100) return [new Uint8Array(0), name];
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    const rest = name.subarray(i + 1);
    if (rest.length > 0 && rest.length <= 100) return [name.subarray(0, i), rest];
  }
  return undefined;
}

function header(
  name: Uint8Array,
  prefix: Uint8Array,
  typeflag: string,
  size: number,
  mode: number,
  mtime: number,
  linkname: Uint8Array,
): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(name.subarray(0, 100), 0);
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size > MAX_OCTAL_SIZE ? 0 : size);
  octal(block, 136, 12, mtime);
  block.fill(0x20, 148, 156);
  block[156] = typeflag.charCodeAt(0);
  block.set(linkname.subarray(0, 100), 157);
  block.set(encoder.encode("ustar\u000000"), 257);
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  block.set(prefix.subarray(0, 155), 345);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  // Six octal digits, NUL, space: what GNU tar and Go's archive/tar write.
  block.set(encoder.encode(sum.toString(8).padStart(6, "0")), 148);
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** The header blocks of one entry (a PAX header first when needed). */
function headerBlocks(entry: TarWriterEntry, size: number): Uint8Array[] {
  const type = entry.type ?? "file";
  let name = entry.name;
  if (type === "directory" && !name.endsWith("/")) name += "/";
  const nameBytes = encoder.encode(name);
  const linkBytes = encoder.encode(entry.linkname ?? "");
  const records: Uint8Array[] = [];
  const parts = split(nameBytes);
  if (!parts) records.push(paxRecord("path", name));
  if (linkBytes.length > 100) records.push(paxRecord("linkpath", entry.linkname!));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(size)));
  const mode = entry.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644);
  const mtime = entry.mtime ?? 0;
  const typeflag = type === "directory" ? "5" : type === "symlink" ? "2" : "0";
  const blocks: Uint8Array[] = [];
  if (records.length > 0) {
    const data = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of records) {
      data.set(r, at);
      at += r.length;
    }
    const paxName = encoder.encode("PaxHeaders/" + name.split("/").filter(Boolean).pop()).subarray(0, 100);
    blocks.push(header(paxName, new Uint8Array(0), "x", data.length, 0o644, mtime, new Uint8Array(0)));
    const padded = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
    padded.set(data);
    blocks.push(padded);
  }
  const [prefix, short] = parts ?? [new Uint8Array(0), nameBytes.subarray(0, 100)];
  blocks.push(header(short, prefix, typeflag, size, mode, mtime, linkBytes));
  return blocks;
}

/**
 * Writes a tar archive from a sequence of entries, streaming each body as it is read. The source is
 * pulled lazily: an entry (and its body) is asked for only when the consumer has room, so a slow writer
 * slows the reads down instead of filling memory. A body shorter or longer than its `size` fails the
 * stream with a `RangeError` naming the entry.
 *
 * @param entries The members in archive order (an async generator may open each body only when asked).
 * @returns The archive bytes, ending with the two zero blocks.
 *
 * @example Write an archive with one file and read it back
 * ```ts
 * import { writeTar } from "./write_tar.ts";
 * import { readTar } from "./tar_reader.ts";
 *
 * const body = new TextEncoder().encode("hello\n");
 * const tar = writeTar([{ name: "hello.txt", size: body.length, body }]);
 * for await (const entry of readTar(tar)) {
 *   console.assert(entry.name === "hello.txt" && entry.size === 6);
 *   console.assert(await new Response(entry.body).text() === "hello\n");
 * }
 * ```
 */
export function writeTar(
  entries: AsyncIterable<TarWriterEntry> | Iterable<TarWriterEntry>,
): ReadableStream<Uint8Array> {
  const iterator = Symbol.asyncIterator in entries
    ? (entries as AsyncIterable<TarWriterEntry>)[Symbol.asyncIterator]()
    : (async function* () {
      yield* entries as Iterable<TarWriterEntry>;
    })();
  let body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let current: { name: string; size: number; written: number } | undefined;
  let finished = false;
  const step = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    if (body && current) {
      const { done, value } = await body.read();
      if (!done) {
        current.written += value.byteLength;
        if (current.written > current.size) {
          throw new RangeError(
            `Cannot write tar entry "${current.name}": its body is longer than its size (${current.size})`,
          );
        }
        controller.enqueue(value);
        return;
      }
      body.releaseLock();
      body = undefined;
      if (current.written !== current.size) {
        throw new RangeError(
          `Cannot write tar entry "${current.name}": its body ended after ${current.written} of ${current.size} bytes`,
        );
      }
      const pad = (BLOCK - current.size % BLOCK) % BLOCK;
      current = undefined;
      if (pad > 0) {
        controller.enqueue(new Uint8Array(pad));
        return;
      }
    }
    if (finished) return;
    const next = await iterator.next();
    if (next.done) {
      finished = true;
      controller.enqueue(new Uint8Array(2 * BLOCK));
      controller.close();
      return;
    }
    const entry = next.value;
    const type = entry.type ?? "file";
    const size = type === "file" ? entry.size ?? 0 : 0;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Cannot write tar entry "${entry.name}": bad size ${entry.size}`);
    }
    for (const block of headerBlocks(entry, size)) controller.enqueue(block);
    if (type !== "file") return;
    const source = entry.body ?? new Uint8Array(0);
    if (source instanceof Uint8Array) {
      if (source.byteLength !== size) {
        throw new RangeError(
          `Cannot write tar entry "${entry.name}": its body has ${source.byteLength} bytes, not ${size}`,
        );
      }
      if (size > 0) controller.enqueue(source);
      const pad = (BLOCK - size % BLOCK) % BLOCK;
      if (pad > 0) controller.enqueue(new Uint8Array(pad));
      return;
    }
    body = source.getReader();
    current = { name: entry.name, size, written: 0 };
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await step(controller);
      } catch (err) {
        // Release what the failed entry holds: its body and the source of the entries.
        await body?.cancel(err).catch(() => {});
        await iterator.return?.().catch(() => {});
        throw err;
      }
    },
    async cancel(reason) {
      await body?.cancel(reason).catch(() => {});
      await iterator.return?.();
    },
  }, { highWaterMark: 0 });
}
