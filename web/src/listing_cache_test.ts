import { assertEquals } from "../../test/_assert.ts";
import type { TarHeader } from "../../src/mod.ts";
import { packListing, unpackListing } from "./listing_cache.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

Deno.test("packListing/unpackListing keep every tar header field, PAX records and the checked diffID", () => {
  const entries: TarHeader[] = [
    {
      name: "./usr/",
      type: "directory",
      typeflag: "5",
      size: 0,
      mode: 0o755,
      uid: 0,
      gid: 0,
      uname: "root",
      gname: "root",
      mtime: 1704067200,
      linkname: "",
      devmajor: 0,
      devminor: 0,
      offset: 0,
    },
    {
      name: "usr/share/a-long-name.txt",
      type: "file",
      typeflag: "0",
      size: 2 ** 40 + 3,
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      uname: "tug",
      gname: "staff",
      mtime: 1704067200.25,
      linkname: "",
      devmajor: 0,
      devminor: 0,
      pax: { path: "usr/share/a-long-name.txt", mtime: "1704067200.25" },
      offset: 512,
    },
    {
      name: "dev/null",
      type: "char",
      typeflag: "3",
      size: 0,
      mode: 0o666,
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
      mtime: 0,
      linkname: "",
      devmajor: 1,
      devminor: 3,
      offset: 2 ** 40 + 2048,
    },
  ];
  const packed = packListing(DIGEST, entries, `sha256:${"b".repeat(64)}`);
  assertEquals(packed.diffId, `sha256:${"b".repeat(64)}`);
  assertEquals(packed.digest, DIGEST);
  assertEquals(unpackListing(structuredClone(packed)), entries);
  assertEquals("diffId" in packListing(DIGEST, entries), false);
});
