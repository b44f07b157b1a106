/**
 * The file operations of the folder store's hot path (blob and index reads, writes, renames, locks), on
 * `Deno.*` under Deno and on node:fs/promises under Node (loaded on first use, with a dynamic import).
 *
 * Why not node:fs/promises everywhere: on Deno, loading it sets up much of Deno's Node file layer, which
 * stays in the process. `tug serve` already loads node:crypto (its hasher), and with it most of the Node
 * layer's common part (process, buffer, streams), so node:path, node:os, node:process and node:timers cost
 * nothing more; node:fs/promises alone added 2.4 MiB to a `Deno.serve` process with Hono and node:crypto
 * loaded (the `serve` task's flags; docs/performance.md, "Proxy memory"). The folder store's other
 * modules (garbage collection, verify, save, unpack) are not on `tug serve`'s path and keep node:fs.
 *
 * Errors look the same on both runtimes: a Deno error with a `code` is rethrown as Node's (`code`, and the
 * message `ENOENT: no such file or directory, stat '/x'`), so callers that test `err.code` or put the message
 * into a STORE_IO error behave as on Node.
 *
 * @module
 */

type DenoNamespace = typeof Deno;
type NodeFs = typeof import("node:fs/promises");

/** What a caller reads of a file's metadata. */
export interface FileInfo {
  size: number;
  /** Last modification, in ms since the epoch. */
  mtimeMs: number;
  mtime: Date;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** Deno's namespace when it has the file API used here (not on Node, nor under a partial Deno shim). */
export function denoNamespace(): DenoNamespace | undefined {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  return deno !== undefined && typeof deno.open === "function" && deno.SeekMode !== undefined
    ? deno
    : undefined;
}

let nodeFs: Promise<NodeFs> | undefined;

/**
 * node:fs/promises, loaded on first use (never on Deno): through `process.getBuiltinModule()` where Node has it
 * (20.16+), because a Node single executable application (`deno task compile:node`, CommonJS) has no dynamic
 * `import()`; else with one.
 */
export function nodeFsPromises(): Promise<NodeFs> {
  const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  return nodeFs ??= builtin
    ? Promise.resolve(builtin("node:fs/promises") as NodeFs)
    : import("node:fs/promises");
}

/** libuv's descriptions, which Node puts into its error messages (`CODE: description, syscall 'path'`). */
const DESCRIPTIONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory",
  EISDIR: "illegal operation on a directory",
  ENOTEMPTY: "directory not empty",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  EXDEV: "cross-device link not permitted",
  EBUSY: "resource busy or locked",
  EMFILE: "too many open files",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links encountered",
  EIO: "i/o error",
  EDQUOT: "disk quota exceeded",
};

/**
 * A Deno file error as Node's: Deno says `No such file or directory (os error 2): stat '/x'`, Node
 * `ENOENT: no such file or directory, stat '/x'` (`what` is the part after the comma); both carry `code`.
 * Errors without a known code pass as they are.
 */
function asNodeError(err: unknown, syscall: string, what: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof code !== "string" || !(code in DESCRIPTIONS)) return err;
  return Object.assign(new Error(`${code}: ${DESCRIPTIONS[code]}, ${what}`, { cause: err }), {
    code,
    syscall,
  });
}

/** Runs a Deno file operation; its error as Node's for `syscall` on `path` (or `rename 'a' -> 'b'`). */
async function onDeno<T>(syscall: string, path: string, op: () => Promise<T>, to?: string): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw asNodeError(err, syscall, `${syscall} '${path}'${to === undefined ? "" : ` -> '${to}'`}`);
  }
}

function denoInfo(info: Deno.FileInfo): FileInfo {
  const mtime = info.mtime ?? new Date(0);
  return {
    size: info.size,
    mtimeMs: mtime.getTime(),
    mtime,
    isFile: () => info.isFile,
    isDirectory: () => info.isDirectory,
  };
}

/** `mkdir -p`. */
export async function makeDirs(path: string): Promise<void> {
  const deno = denoNamespace();
  if (deno) return await onDeno("mkdir", path, () => deno.mkdir(path, { recursive: true }));
  await (await nodeFsPromises()).mkdir(path, { recursive: true });
}

const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The file's text (UTF-8). */
export async function readText(path: string): Promise<string> {
  const deno = denoNamespace();
  // Not Deno.readTextFile(): its decoder drops a byte order mark, which Node's keeps (JSON.parse refuses it).
  if (deno) return UTF8.decode(await onDeno("open", path, () => deno.readFile(path)));
  return await (await nodeFsPromises()).readFile(path, "utf8");
}

/**
 * Creates `path`, which must not exist (`O_EXCL`: EEXIST when it does, the basis of the store's lock
 * files), writes `text` into it, fsyncs it when `sync`, and closes it (also when the write fails).
 */
export async function writeNewFile(
  path: string,
  text: string,
  options: { sync?: boolean; mode?: number } = {},
): Promise<void> {
  const deno = denoNamespace();
  if (deno) {
    return await onDeno("open", path, async () => {
      const file = await deno.open(path, {
        write: true,
        createNew: true,
        ...(options.mode !== undefined ? { mode: options.mode } : {}),
      });
      try {
        const bytes = new TextEncoder().encode(text);
        // Bounded: each write takes at least one byte (Deno's write() writes some or throws).
        for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
        if (options.sync) await file.sync();
      } finally {
        file.close();
      }
    });
  }
  const handle = await (await nodeFsPromises()).open(path, "wx", options.mode);
  try {
    await handle.writeFile(text);
    if (options.sync) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** rename(2): atomic within a file system; replaces `to` if it is a file. */
export async function renamePath(from: string, to: string): Promise<void> {
  const deno = denoNamespace();
  if (deno) return await onDeno("rename", from, () => deno.rename(from, to), to);
  await (await nodeFsPromises()).rename(from, to);
}

/** Removes a file (unlink(2); on Deno `Deno.remove()`, as Deno's node:fs `unlink()` does). */
export async function removeFile(path: string): Promise<void> {
  const deno = denoNamespace();
  if (deno) return await onDeno("unlink", path, () => deno.remove(path));
  await (await nodeFsPromises()).unlink(path);
}

/** stat(2) (follows symbolic links). */
export async function statPath(path: string): Promise<FileInfo> {
  const deno = denoNamespace();
  if (deno) return denoInfo(await onDeno("stat", path, () => deno.stat(path)));
  return await (await nodeFsPromises()).stat(path);
}

/** The names in a folder (without `.` and `..`), in no particular order. */
export async function listNames(path: string): Promise<string[]> {
  const deno = denoNamespace();
  if (deno) {
    return await onDeno("readdir", path, async () => {
      const names: string[] = [];
      for await (const entry of deno.readDir(path)) names.push(entry.name);
      return names;
    });
  }
  return await (await nodeFsPromises()).readdir(path);
}

/** Sets a file's access and modification times. */
export async function touchPath(path: string, time: Date): Promise<void> {
  const deno = denoNamespace();
  if (deno) return await onDeno("utime", path, () => deno.utime(path, time, time));
  await (await nodeFsPromises()).utimes(path, time, time);
}
