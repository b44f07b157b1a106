// This module is browser compatible.
/**
 * Copies a tar entry's metadata without its body, so a listing can outlive the stream it was read from
 * (the merged view of layers, and the web page's layer browser).
 *
 * @module
 */

import type { TarHeader } from "./tar_reader.ts";

/**
 * The metadata fields of `entry` as a plain object (no body, nothing tied to the stream).
 *
 * @example Keep the headers of a tar's entries
 * ```ts
 * import { headerOf } from "./header_of.ts";
 * import { readTar, type TarHeader } from "./tar_reader.ts";
 * import { writeTar } from "./write_tar.ts";
 *
 * const body = new TextEncoder().encode("hello\n");
 * const headers: TarHeader[] = [];
 * for await (const entry of readTar(writeTar([{ name: "hello.txt", size: body.length, body }]))) {
 *   headers.push(headerOf(entry));
 *   await entry.body.cancel();
 * }
 * console.assert(headers[0].name === "hello.txt" && headers[0].size === 6);
 * console.assert(!("body" in headers[0]));
 * ```
 */
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
