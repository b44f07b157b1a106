/**
 * The one gate between a layer's entries and the disk during unpack: {@linkcode ConfinedRoot} resolves tar
 * paths inside a root folder and performs every mutation (create, write, mkdir, symlink, hard link, mknod,
 * chown, chmod, utimes, remove) on what it resolved, never on a path built elsewhere.
 *
 * Why one gate: moby CVE-2014-9356 and CVE-2014-6407 (writes and links through symlinks the archive made),
 * umoci CVE-2021-29136 (whiteouts removing through a symlinked parent) and tug's own `.wh...` whiteout
 * (which removed the target's parent) are one class: a path reached the file system without going through
 * the resolver the writes used. Here the resolver hands out {@linkcode Inside} values only, the mutations
 * accept nothing else, and each mutation re-checks its path's shape, so a new code path cannot forget it.
 *
 * Rules:
 * - Every component of an {@linkcode Inside} path is a plain name: not empty, not `.` or `..`, no `/`, no
 *   NUL. The root itself is `""`, which can be read and have its metadata set, but never be removed or
 *   replaced.
 * - Parents are resolved component by component with lstat, as a chroot would: a symlink is followed by
 *   tug itself (an absolute target restarts at the root), one that climbs above the root is refused, loops
 *   end after 40 links (Linux's MAXSYMLINKS). So every parent of an Inside path is a real directory.
 * - The last component is never followed: lstat, lchown, lutimes, unlink, rm (removes a symlink, not what
 *   it points to), link(2) (links a symlink itself), open with O_NOFOLLOW|O_EXCL, and directory metadata
 *   through an O_NOFOLLOW|O_DIRECTORY handle.
 *
 * What it cannot see: another process changing the tree while the unpack runs (the paths are resolved, then
 * used, as moby CVE-2018-15664 exploits); the staging folder is 0700 so only its owner (root, when
 * unpacking as root) can race it.
 *
 * @module
 */
import {
  chmod,
  constants,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  symlink,
  unlink,
} from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { TugError } from "../../src/errors.ts";

/** A path relative to the root that {@linkcode ConfinedRoot} resolved: the only kind its mutations take. */
export type Inside = string & { readonly __inside: unique symbol };

/** The root folder itself. */
export const ROOT = "" as Inside;

/** Symlinks followed while resolving one path, as Linux's MAXSYMLINKS (40). */
const MAX_SYMLINKS = 40;

/** Whether `name` can be one component of a path inside the root. */
export function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/** `TugError` `UNSAFE_PATH` naming the entry. */
export function unsafe(entry: string, why: string): TugError {
  return new TugError("UNSAFE_PATH", `Refusing tar entry "${entry}": ${why}`, { detail: { entry } });
}

/** `TugError` `TAR_INVALID` naming the entry. */
export function invalid(entry: string, why: string): TugError {
  return new TugError("TAR_INVALID", `Cannot extract tar entry "${entry}": ${why}`, { detail: { entry } });
}

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(command, args, (err, _out, stderr) => {
      if (err) fail(new Error(`${command} ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else done();
    });
  });
}

/** Resolves and mutates paths inside one root folder; see the module documentation for the rules. */
export class ConfinedRoot {
  readonly #root: string;
  /** Inside paths known to be real directories; reset on any removal. */
  #dirs = new Set<string>([""]);
  /** Called with each removed path, so callers can drop what they remember under it. */
  onRemove?: (path: Inside) => void;

  constructor(root: string) {
    this.#root = root;
  }

  /**
   * The absolute path of `path`, after checking its shape again: a value cast to Inside elsewhere, or a
   * name that slipped through, fails here instead of reaching the file system.
   */
  #abs(path: Inside): string {
    if (path === "") return this.#root;
    for (const part of path.split("/")) {
      if (!isPlainName(part)) {
        throw new TugError("UNSAFE_PATH", `Refusing to touch "${path}": "${part}" is not a plain file name`);
      }
    }
    return join(this.#root, path);
  }

  /** `name` in the directory `dir`, for names read back from the disk or from a whiteout. */
  child(dir: Inside, name: string, entry: string): Inside {
    if (!isPlainName(name)) throw unsafe(entry, `"${name}" is not a plain file name`);
    return (dir === "" ? name : `${dir}/${name}`) as Inside;
  }

  /**
   * Resolves the directory named by `parts` (clean components, `..` allowed for symlink targets) to a real
   * directory inside the root, following symlinks as a chroot would and refusing any that climbs above the
   * root. Missing directories are created (0755, as Docker's MkdirAll for parents) when `create` is set;
   * otherwise undefined is returned for them.
   */
  async resolveDir(parts: readonly string[], entry: string, create: boolean): Promise<Inside | undefined> {
    const real: string[] = [];
    const queue = [...parts];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (real.length === 0) {
          throw unsafe(entry, "it goes through a symlink that leads outside the target folder");
        }
        real.pop();
        continue;
      }
      if (!isPlainName(part)) throw unsafe(entry, `"${part}" is not a plain file name`);
      real.push(part);
      const rel = real.join("/") as Inside;
      if (this.#dirs.has(rel)) continue;
      const abs = this.#abs(rel);
      const st = await this.lstat(rel);
      if (st === undefined) {
        if (!create) return undefined;
        await mkdir(abs, { mode: 0o755 });
        this.#dirs.add(rel);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw unsafe(entry, "too many levels of symlinks");
        const target = await readlink(abs);
        real.pop();
        // An absolute target is a path in the image's root filesystem, i.e. inside the target folder.
        if (target.startsWith("/")) real.length = 0;
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!st.isDirectory()) throw invalid(entry, `"/${rel}" in the image is not a directory`);
      this.#dirs.add(rel);
    }
    return real.join("/") as Inside;
  }

  /**
   * Resolves a clean path (from normalizeTarPath) to its real parent plus its last name, which is never
   * followed. The root itself (`""`) is not a place: callers handle it. Undefined when a parent is missing
   * and `create` is not set.
   */
  async place(path: string, entry: string, create: boolean): Promise<Inside | undefined> {
    const slash = path.lastIndexOf("/");
    const name = path.slice(slash + 1);
    if (!isPlainName(name)) throw unsafe(entry, `"${name}" is not a plain file name`);
    const parent = await this.resolveDir(slash === -1 ? [] : path.slice(0, slash).split("/"), entry, create);
    return parent === undefined ? undefined : this.child(parent, name, entry);
  }

  async lstat(path: Inside): Promise<Stats | undefined> {
    try {
      return await lstat(this.#abs(path));
    } catch (err) {
      if (errno(err) === "ENOENT") return undefined;
      throw err;
    }
  }

  async readdir(dir: Inside, entry: string): Promise<Inside[]> {
    return (await readdir(this.#abs(dir))).map((name) => this.child(dir, name, entry));
  }

  /** Removes `path` and, for a directory, everything in it; a symlink is removed, never followed. */
  async remove(path: Inside): Promise<void> {
    if (path === "") throw new TugError("UNSAFE_PATH", "Refusing to remove the target folder itself");
    const abs = this.#abs(path);
    const st = await this.lstat(path);
    if (st === undefined) return;
    if (st.isDirectory()) {
      await rm(abs, { recursive: true, force: true });
      this.#dirs = new Set([""]);
    } else {
      await unlink(abs);
    }
    this.onRemove?.(path);
  }

  async mkdir(path: Inside): Promise<void> {
    await mkdir(this.#abs(path), { mode: 0o700 });
    this.#dirs.add(path);
  }

  /** Creates a new file (O_EXCL|O_NOFOLLOW: whatever is there now is not ours to write through). */
  async createFile(path: Inside): Promise<FileHandle> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    return await open(this.#abs(path), flags, 0o600);
  }

  async symlink(linkname: string, path: Inside): Promise<void> {
    await symlink(linkname, this.#abs(path));
  }

  /** link(2) does not follow a symlink `existing`: the new name is a link to the symlink itself. */
  async link(existing: Inside, path: Inside): Promise<void> {
    if (existing === "") throw new TugError("UNSAFE_PATH", "Refusing to hard link the target folder");
    await link(this.#abs(existing), this.#abs(path));
  }

  /** Makes a FIFO with the permission bits of `mode` (mkfifo(1) refuses others: see setSpecialBits). */
  async mkfifo(path: Inside, mode: number): Promise<void> {
    await run("mkfifo", ["-m", (mode & 0o777).toString(8), this.#abs(path)]);
  }

  async mknod(
    path: Inside,
    mode: number,
    type: "char" | "block",
    major: number,
    minor: number,
  ): Promise<void> {
    const kind = type === "char" ? "c" : "b";
    await run("mknod", [
      "-m",
      (mode & 0o777).toString(8),
      this.#abs(path),
      kind,
      String(major),
      String(minor),
    ]);
  }

  /**
   * Sets the setuid, setgid and sticky bits a tar may give a FIFO or a device node (Docker applies them
   * with a chmod; mkfifo(1) and mknod(1) take permission bits only), after lchown, which clears them. There
   * is no lchmod on Linux: the node is lstat-checked to be a FIFO or device (never a symlink) first.
   */
  async setSpecialBits(path: Inside, mode: number): Promise<void> {
    if ((mode & 0o7000) === 0) return;
    const st = await this.lstat(path);
    if (!st || st.isSymbolicLink() || st.isDirectory() || st.isFile()) {
      throw new TugError("UNSAFE_PATH", `Refusing to chmod "${path}": it is not the node just created`);
    }
    await chmod(this.#abs(path), mode);
  }

  async lchown(path: Inside, uid: number, gid: number): Promise<void> {
    await lchown(this.#abs(path), uid, gid);
  }

  async lutimes(path: Inside, mtime: number): Promise<void> {
    await lutimes(this.#abs(path), mtime, mtime);
  }

  /**
   * Sets a directory's mode and mtime through a handle opened with O_NOFOLLOW|O_DIRECTORY, so a symlink
   * put at `path` is never followed to chmod something else. False when `path` is no longer a directory.
   */
  async setDirMeta(path: Inside, mode: number, mtime?: number): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(
        this.#abs(path),
        constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0),
      );
    } catch (err) {
      if (["ENOENT", "ENOTDIR", "ELOOP"].includes(errno(err) ?? "")) return false;
      throw err;
    }
    try {
      await handle.chmod(mode);
      if (mtime !== undefined) await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
    return true;
  }
}
