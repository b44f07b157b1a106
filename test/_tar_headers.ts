// This module is browser compatible.
/** Tar headers for tests: every field of a `TarHeader` with plain defaults, the ones a test cares about given. */
import type { TarEntryType, TarHeader } from "../src/image/tar_reader.ts";

const TYPEFLAGS: Partial<Record<TarEntryType, string>> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

/**
 * A header for `name`: a directory when the name ends in `/`, else a file, of 0 bytes, mode 0644 (0755 for
 * a directory), owned by root; `fields` overrides any of that (the typeflag follows the type).
 */
export function tarHeader(name: string, fields: Partial<TarHeader> = {}): TarHeader {
  const type = fields.type ?? (name.endsWith("/") ? "directory" : "file");
  return {
    name,
    type,
    typeflag: TYPEFLAGS[type] ?? "0",
    size: 0,
    mode: type === "directory" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    mtime: 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    offset: 0,
    ...fields,
  };
}
