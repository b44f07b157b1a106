import { assert, assertEquals } from "../../test/_assert.ts";
import { headerOf } from "./header_of.ts";
import { readTar, type TarHeader } from "./tar_reader.ts";
import { writeTar } from "./write_tar.ts";

/** The fields of {@linkcode TarHeader}. */
const FIELDS: ReadonlyArray<keyof TarHeader> = [
  "name",
  "type",
  "typeflag",
  "size",
  "mode",
  "uid",
  "gid",
  "uname",
  "gname",
  "mtime",
  "linkname",
  "devmajor",
  "devminor",
  "pax",
  "offset",
];

Deno.test("headerOf() copies every header field of a read entry, PAX records included, and no body", async () => {
  const long = `d/${"x".repeat(120)}.txt`; // a name part over ustar's 100 bytes: written with a PAX path
  const body = new TextEncoder().encode("hello\n");
  const tar = writeTar([
    { name: "etc/", type: "directory" },
    { name: long, size: body.length, body, mode: 0o600, mtime: 1_700_000_000 },
    { name: "link", type: "symlink", linkname: "etc" },
  ]);
  const headers: TarHeader[] = [];
  for await (const entry of readTar(tar)) {
    const header = headerOf(entry);
    assert(!("body" in header), "the copy has no body");
    // Every field of TarHeader, with the entry's value; `pax` only when the entry has PAX records.
    const fields = FIELDS.filter((key) => key !== "pax" || entry.pax !== undefined);
    assertEquals(Object.keys(header).sort(), [...fields].sort());
    for (const key of fields) assertEquals(header[key], entry[key], key);
    await entry.body.cancel();
    headers.push(header);
  }
  assertEquals(headers.map((h) => [h.name, h.type, h.linkname]), [
    ["etc/", "directory", ""],
    [long, "file", ""],
    ["link", "symlink", "etc"],
  ]);
  assertEquals(headers[1].pax?.path, long);
  assertEquals([headers[1].size, headers[1].mode, headers[1].mtime], [6, 0o600, 1_700_000_000]);
});
