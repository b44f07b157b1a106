/**
 * Applies tar entries of image layers to one root folder for unpack(): files, directories, symlinks, hard
 * links, FIFOs, devices, owners, modes, mtimes, whiteouts and opaque directories. It never touches the disk
 * itself: every path goes through {@linkcode ConfinedRoot} (see `_confined_root.ts` for the rules), which
 * resolves it inside the root and performs the mutation.
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";
import { normalizeTarPath } from "../../src/image/normalize_tar_path.ts";
import type { TarEntry } from "../../src/image/tar_reader.ts";
import { parseWhiteout } from "../../src/image/whiteouts.ts";
import { ConfinedRoot, type Inside, invalid, ROOT, unsafe } from "./_confined_root.ts";

/** Metadata applied to directories once every layer is in (writing into them would change their mtimes). */
interface DirMeta {
  mode: number;
  /** Undefined for a root without a `./` entry: it keeps the mtime the writes gave it. */
  mtime?: number;
}

/** Applies layers, in order, to one root folder. */
export class EntryApplier {
  readonly #fs: ConfinedRoot;
  readonly #asRoot: boolean;
  readonly #rootMode: number;
  /** Directory metadata to apply at the end, by inside path. */
  readonly #dirMeta = new Map<Inside, DirMeta>();
  /** Paths this layer created (and their ancestors): whiteouts hide lower layers' content only. */
  #created = new Set<string>();
  #createdAncestors = new Set<string>();

  /**
   * @param root The folder to fill (absolute).
   * @param asRoot Set owners and create device nodes.
   * @param rootMode The mode the root folder gets at the end, whatever the layers' `./` entry says.
   */
  constructor(root: string, asRoot: boolean, rootMode: number) {
    this.#fs = new ConfinedRoot(root);
    this.#asRoot = asRoot;
    this.#rootMode = rootMode;
    this.#fs.onRemove = (removed) => {
      const prefix = removed + "/";
      for (const key of this.#dirMeta.keys()) {
        if (key === removed || key.startsWith(prefix)) this.#dirMeta.delete(key);
      }
    };
  }

  startLayer(): void {
    this.#created = new Set();
    this.#createdAncestors = new Set();
  }

  #markCreated(rel: Inside): void {
    this.#created.add(rel);
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) {
      const parent = rel.slice(0, i);
      if (this.#createdAncestors.has(parent)) break;
      this.#createdAncestors.add(parent);
    }
    this.#createdAncestors.add("");
  }

  /** Removes `rel` (never following it) except what this layer created, for whiteouts and opaque dirs. */
  async #removeLower(rel: Inside, entry: string): Promise<void> {
    if (this.#created.has(rel) || this.#createdAncestors.has(rel)) {
      const st = await this.#fs.lstat(rel);
      if (!st?.isDirectory()) return;
      for (const child of await this.#fs.readdir(rel, entry)) await this.#removeLower(child, entry);
      return;
    }
    await this.#fs.remove(rel);
  }

  async apply(entry: TarEntry): Promise<void> {
    const fs = this.#fs;
    const { path, safe } = normalizeTarPath(entry.name);
    if (!safe) throw unsafe(entry.name, "its path climbs above the target folder");

    // Whiteouts (image-spec layer.md "Whiteouts"); AUFS's own `.wh..wh.` metadata is skipped, as Docker does.
    const whiteout = parseWhiteout(path);
    if (whiteout) {
      if (whiteout.kind === "invalid") throw unsafe(entry.name, whiteout.reason);
      if (whiteout.kind === "meta") return;
      // The whiteout's directory resolves like any write's parent: through symlinks inside the root only.
      const dir = await fs.resolveDir(whiteout.dir === "" ? [] : whiteout.dir.split("/"), entry.name, false);
      if (dir === undefined) return;
      if (whiteout.kind === "opaque") {
        if (!(await fs.lstat(dir))?.isDirectory()) return;
        for (const child of await fs.readdir(dir, entry.name)) await this.#removeLower(child, entry.name);
        return;
      }
      await this.#removeLower(fs.child(dir, whiteout.name, entry.name), entry.name);
      return;
    }

    if (path === "") {
      // `/` or `./`: the root itself; only its owner and mtime can change (its mode is the target mode).
      if (entry.type !== "directory") throw unsafe(entry.name, "it would replace the target folder itself");
      this.#dirMeta.set(ROOT, { mode: this.#rootMode, mtime: entry.mtime });
      if (this.#asRoot) await fs.lchown(ROOT, entry.uid, entry.gid);
      return;
    }

    if ((entry.type === "char" || entry.type === "block") && !this.#asRoot) {
      throw unsafe(entry.name, `it is a ${entry.type} device node, which only root may create`);
    }
    let linkTarget: Inside | undefined;
    if (entry.type === "hardlink") {
      const target = normalizeTarPath(entry.linkname);
      if (!target.safe || target.path === "") {
        throw unsafe(entry.name, `its hard link target "${entry.linkname}" is outside the target folder`);
      }
      linkTarget = await fs.place(target.path, entry.name, false);
      if (linkTarget === undefined) {
        throw invalid(entry.name, `its hard link target "${entry.linkname}" does not exist`);
      }
    }

    const rel = (await fs.place(path, entry.name, true))!;
    const existing = await fs.lstat(rel);
    const mergeDir = existing?.isDirectory() && entry.type === "directory";
    // Replace whatever is there; a directory goes with its content (Docker's UnpackLayer does RemoveAll).
    if (existing && !mergeDir) await fs.remove(rel);
    this.#markCreated(rel);
    const mode = entry.mode & 0o7777;
    switch (entry.type) {
      case "directory":
        if (!mergeDir) await fs.mkdir(rel);
        this.#dirMeta.set(rel, { mode, mtime: entry.mtime });
        if (this.#asRoot) await fs.lchown(rel, entry.uid, entry.gid);
        return;
      case "file":
        await this.#writeFile(rel, entry, mode);
        return;
      case "symlink":
        await fs.symlink(entry.linkname, rel);
        if (this.#asRoot) await fs.lchown(rel, entry.uid, entry.gid);
        await fs.lutimes(rel, entry.mtime);
        return;
      case "hardlink": {
        const st = await fs.lstat(linkTarget!);
        if (!st || st.isDirectory()) {
          throw invalid(
            entry.name,
            `its hard link target "${entry.linkname}" is ${st ? "a directory" : "missing"}`,
          );
        }
        await fs.link(linkTarget!, rel);
        return;
      }
      case "fifo":
        await fs.mkfifo(rel, mode);
        break;
      case "char":
      case "block":
        await fs.mknod(rel, mode, entry.type, entry.devmajor, entry.devminor);
        break;
      default:
        throw invalid(entry.name, `unsupported entry type "${entry.typeflag}"`);
    }
    if (this.#asRoot) await fs.lchown(rel, entry.uid, entry.gid);
    await fs.setSpecialBits(rel, mode);
    await fs.lutimes(rel, entry.mtime);
  }

  async #writeFile(rel: Inside, entry: TarEntry, mode: number): Promise<void> {
    const handle: FileHandle = await this.#fs.createFile(rel);
    try {
      const reader = entry.body.getReader();
      // One write in flight while the next chunk is decompressed.
      let pending: Promise<unknown> | undefined;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (pending) await pending;
          pending = handle.write(value);
        }
        if (pending) await pending;
      } catch (err) {
        await pending?.catch(() => {});
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      // chown first: it clears setuid/setgid bits, which the chmod then sets.
      if (this.#asRoot) await handle.chown(entry.uid, entry.gid);
      await handle.chmod(mode);
      await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
  }

  /**
   * Sets directory modes and mtimes, deepest first, once nothing more is written into them; the root last,
   * with the target mode (0700 unless asked otherwise: containerd CVE-2021-41103).
   */
  async finish(): Promise<void> {
    if (!this.#dirMeta.has(ROOT)) this.#dirMeta.set(ROOT, { mode: this.#rootMode });
    const dirs = [...this.#dirMeta.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, meta] of dirs) await this.#fs.setDirMeta(rel, meta.mode, meta.mtime);
  }
}

function depth(rel: string): number {
  return rel === "" ? 0 : rel.split("/").length;
}
