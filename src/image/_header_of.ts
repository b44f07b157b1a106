// This module is browser compatible.
/**
 * Copies a tar entry's metadata without its body.
 *
 * @module
 */

import type { TarHeader } from "./tar_reader.ts";

/** The metadata fields of `entry` as a plain object (no body, nothing tied to the stream). */
export function headerOf(entry: TarHeader): TarHeader {
  const header: TarHeader = {
    name: entry.name,
    type: entry.type,
    typeflag: entry.typeflag,
    size: entry.size,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    uname: entry.uname,
    gname: entry.gname,
    mtime: entry.mtime,
    linkname: entry.linkname,
    devmajor: entry.devmajor,
    devminor: entry.devminor,
    offset: entry.offset,
  };
  if (entry.pax) header.pax = entry.pax;
  return header;
}
