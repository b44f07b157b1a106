import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { createTar } from "../../test/harness/tar.ts";
import { TugError } from "../errors.ts";
import { readTar, type TarEntry } from "./tar_reader.ts";

const enc = new TextEncoder();

/** Streams `bytes` in chunks of `size` (views, like a network stream would hand out). */
function chunked(bytes: Uint8Array, size = bytes.length || 1): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + size));
      at += size;
    },
  });
}

interface Listed {
  name: string;
  type: string;
  size: number;
  linkname: string;
  text?: string;
}

async function list(stream: ReadableStream<Uint8Array>, readBodies = true): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const e of readTar(stream)) {
    const item: Listed = { name: e.name, type: e.type, size: e.size, linkname: e.linkname };
    if (readBodies && e.type === "file") item.text = await new Response(e.body).text();
    out.push(item);
  }
  return out;
}

/** A raw header block with a valid checksum; `fields` are written as given (strings) at their offsets. */
function header(fields: { [offset: number]: string | Uint8Array }, fixChecksum = true): Uint8Array {
  const block = new Uint8Array(512);
  for (const [offset, value] of Object.entries(fields)) {
    block.set(typeof value === "string" ? enc.encode(value) : value, Number(offset));
  }
  if (fixChecksum) {
    block.fill(0x20, 148, 156);
    const sum = block.reduce((a, b) => a + b, 0);
    block.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  }
  return block;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0") + "\0";
const USTAR = "ustar\u000000";

function fileHeader(name: string, size: number, extra: { [offset: number]: string | Uint8Array } = {}) {
  return header({
    0: name,
    100: "0000644\0",
    124: octal(size, 12),
    136: octal(0, 12),
    156: "0",
    257: USTAR,
    ...extra,
  });
}

function padTo512(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

const SAMPLE = [
  { path: "etc", type: "directory" as const },
  { path: "etc/hostname", content: "tug\n" },
  { path: "etc/alias", type: "symlink" as const, linkname: "hostname" },
  { path: "etc/hard", type: "hardlink" as const, linkname: "etc/hostname" },
  { path: "dev/null", type: "char" as const, devmajor: 1, devminor: 3 },
  { path: "big", content: "x".repeat(1500) },
];

Deno.test("readTar() reads ustar entries of every type with their bodies", async () => {
  const tar = createTar(SAMPLE);
  assertEquals(await list(chunked(tar)), [
    { name: "etc/", type: "directory", size: 0, linkname: "" },
    { name: "etc/hostname", type: "file", size: 4, linkname: "", text: "tug\n" },
    { name: "etc/alias", type: "symlink", size: 0, linkname: "hostname" },
    { name: "etc/hard", type: "hardlink", size: 0, linkname: "etc/hostname" },
    { name: "dev/null", type: "char", size: 0, linkname: "" },
    { name: "big", type: "file", size: 1500, linkname: "", text: "x".repeat(1500) },
  ]);
  const entries: TarEntry[] = [];
  for await (const e of readTar(chunked(tar))) entries.push(e);
  assertEquals([entries[4].devmajor, entries[4].devminor], [1, 3]);
  assertEquals(entries[1].mtime, Date.UTC(2024, 0, 1) / 1000);
  assertEquals(entries[1].mode, 0o644);
  assertEquals(entries[1].offset, 512);
});

Deno.test("readTar() handles headers and bodies split across 1-byte and odd-sized chunks", async () => {
  const tar = createTar([...SAMPLE, { path: "a/".repeat(60) + "long", content: "pax path" }]);
  const whole = await list(chunked(tar));
  for (const size of [1, 7, 511, 513, 4096]) {
    assertEquals(await list(chunked(tar, size)), whole, `chunks of ${size}`);
  }
});

Deno.test("readTar() skips unread bodies when the consumer moves on", async () => {
  const tar = createTar([{ path: "a", content: "A".repeat(3000) }, { path: "b", content: "B" }]);
  const names: string[] = [];
  let partial: ReadableStreamDefaultReader<Uint8Array> | undefined;
  for await (const e of readTar(chunked(tar, 100))) {
    names.push(e.name);
    if (e.name === "a") {
      partial = e.body.getReader();
      await partial.read(); // read 100 bytes, leave the rest
    } else {
      assertEquals(await new Response(e.body).text(), "B");
    }
  }
  assertEquals(names, ["a", "b"]);
  await assertRejects(() => partial!.read(), TypeError, "after the reader moved to the next entry");
});

Deno.test("readTar() hands out body chunks as views of the input, not copies", async () => {
  const tar = createTar([{ path: "a", content: "A".repeat(10000) }]);
  for await (const e of readTar(chunked(tar))) {
    const reader = e.body.getReader();
    const { value } = await reader.read();
    assert(value!.buffer === tar.buffer, "body chunk shares the input's buffer");
    assertEquals(value!.length, 10000);
  }
});

Deno.test("readTar() applies PAX path, linkpath, size, ids, names and fractional mtime", async () => {
  const longPath = "dir/".repeat(40) + "file.txt";
  const longLink = "target/".repeat(20) + "x";
  const tar = createTar([
    {
      path: longPath,
      content: "hi",
      uid: 0o10000000,
      gid: 0o20000000,
      uname: "u".repeat(40),
      gname: "g",
      mtime: 1700000000.25,
    },
    { path: "ln", type: "symlink", linkname: longLink, pax: { "SCHILY.xattr.user.k": "v" } },
  ]);
  const entries: TarEntry[] = [];
  for await (const e of readTar(chunked(tar))) entries.push(e);
  assertEquals(entries[0].name, longPath);
  assertEquals(entries[0].size, 2);
  assertEquals([entries[0].uid, entries[0].gid], [0o10000000, 0o20000000]);
  assertEquals(entries[0].uname, "u".repeat(40));
  assertEquals(entries[0].mtime, 1700000000.25);
  assertEquals(entries[0].offset, 0);
  assertEquals(entries[1].linkname, longLink);
  assertEquals(entries[1].pax?.["SCHILY.xattr.user.k"], "v");
});

function paxData(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let n = body.length + 1;
    while (String(n).length + enc.encode(body).length !== n) n = String(n).length + enc.encode(body).length;
    text += n + body;
  }
  return enc.encode(text);
}

Deno.test("readTar() applies PAX global headers to every later entry, under per-file ones", async () => {
  const g = paxData({ uname: "global", comment: "c1" });
  const x = paxData({ uname: "local" });
  const tar = concat(
    header({ 0: "pax_global_header", 124: octal(g.length, 12), 156: "g", 257: USTAR }),
    padTo512(g),
    fileHeader("a", 0),
    header({ 0: "PaxHeaders/b", 124: octal(x.length, 12), 156: "x", 257: USTAR }),
    padTo512(x),
    fileHeader("b", 0),
    new Uint8Array(1024),
  );
  const entries: TarEntry[] = [];
  for await (const e of readTar(chunked(tar))) entries.push(e);
  assertEquals(entries.map((e) => [e.name, e.uname, e.pax?.comment]), [["a", "global", "c1"], [
    "b",
    "local",
    "c1",
  ]]);
});

Deno.test("readTar() reads GNU long names and long links ('L'/'K')", async () => {
  const name = enc.encode("n".repeat(150) + "\0");
  const link = enc.encode("l".repeat(120) + "\0");
  const tar = concat(
    header({ 0: "././@LongLink", 124: octal(name.length, 12), 156: "L", 257: "ustar  \0" }),
    padTo512(name),
    header({ 0: "././@LongLink", 124: octal(link.length, 12), 156: "K", 257: "ustar  \0" }),
    padTo512(link),
    header({ 0: "n".repeat(100), 124: octal(0, 12), 156: "2", 157: "l".repeat(100), 257: "ustar  \0" }),
    new Uint8Array(1024),
  );
  assertEquals(await list(chunked(tar, 3)), [{
    name: "n".repeat(150),
    type: "symlink",
    size: 0,
    linkname: "l".repeat(120),
  }]);
});

Deno.test("readTar() reads base-256 numeric fields (size, uid, negative mtime)", async () => {
  const size = new Uint8Array(12);
  size[0] = 0x80;
  size[11] = 5; // 5 bytes, in base-256
  const uid = new Uint8Array(8);
  uid[0] = 0x80;
  uid.set([0x01, 0x00, 0x00, 0x00], 4); // 2^24
  const mtime = new Uint8Array(12).fill(0xff); // -1
  const tar = concat(fileHeader("f", 0, { 124: size, 108: uid, 136: mtime }), padTo512(enc.encode("hello")));
  const entries: TarEntry[] = [];
  for await (const e of readTar(chunked(tar))) {
    entries.push(e);
    assertEquals(await new Response(e.body).text(), "hello");
  }
  assertEquals([entries[0].size, entries[0].uid, entries[0].mtime], [5, 1 << 24, -1]);
});

Deno.test("readTar() joins the ustar prefix field and name", async () => {
  const tar = concat(fileHeader("name.txt", 0, { 345: "some/prefix" }), new Uint8Array(1024));
  assertEquals((await list(chunked(tar)))[0].name, "some/prefix/name.txt");
});

Deno.test("readTar() reads old v7 headers (no magic; trailing slash marks directories)", async () => {
  const v7 = (name: string, flag: string, size = 0) =>
    header({ 0: name, 100: "000644 \0", 124: octal(size, 12), 136: octal(0, 12), 156: flag });
  const tar = concat(
    v7("dir/", "\0"),
    v7("dir/f", "\0", 2),
    padTo512(enc.encode("ok")),
    new Uint8Array(1024),
  );
  assertEquals(await list(chunked(tar)), [
    { name: "dir/", type: "directory", size: 0, linkname: "" },
    { name: "dir/f", type: "file", size: 2, linkname: "", text: "ok" },
  ]);
});

Deno.test("readTar() accepts checksums summed over signed bytes", async () => {
  const block = fileHeader("caf\u00e9", 0, {}); // é is two bytes ≥ 0x80
  block.fill(0x20, 148, 156);
  let signed = 0;
  for (const b of block) signed += b < 128 ? b : b - 256;
  block.set(enc.encode(signed.toString(8).padStart(6, "0") + "\0 "), 148);
  assertEquals((await list(chunked(concat(block, new Uint8Array(1024)))))[0].name, "caf\u00e9");
});

Deno.test("readTar() rejects a bad checksum with TAR_INVALID naming the offset", async () => {
  const tar = createTar([{ path: "a", content: "x" }, { path: "b", content: "y" }]);
  tar[1024 + 10] ^= 1; // second header starts at 1024
  await assertRejects(() => list(chunked(tar)), TugError, {
    code: "TAR_INVALID",
    includes: "offset 1024: checksum",
  });
});

Deno.test("readTar() accepts an archive without end blocks and without the last entry's padding", async () => {
  const tar = createTar([{ path: "a", content: "xyz" }], { omitEndBlocks: true });
  assertEquals(await list(chunked(tar)), [{ name: "a", type: "file", size: 3, linkname: "", text: "xyz" }]);
  const unpadded = tar.subarray(0, 512 + 3);
  assertEquals(await list(chunked(unpadded, 1)), [{
    name: "a",
    type: "file",
    size: 3,
    linkname: "",
    text: "xyz",
  }]);
  // and when nobody reads the body
  assertEquals((await list(chunked(unpadded), false)).map((e) => e.name), ["a"]);
});

Deno.test("readTar() accepts a single zero block before the end", async () => {
  const tar = concat(createTar([{ path: "a", content: "x" }], { omitEndBlocks: true }), new Uint8Array(512));
  assertEquals((await list(chunked(tar))).map((e) => e.name), ["a"]);
});

Deno.test("readTar() rejects a body cut short by the end of the stream", async () => {
  const tar = createTar([{ path: "a", content: "x".repeat(2000) }]).subarray(0, 512 + 1000);
  await assertRejects(() => list(chunked(tar, 300)), TugError, {
    code: "TAR_INVALID",
    includes: "inside the data",
  });
  await assertRejects(() => list(chunked(tar, 300), false), TugError, {
    code: "TAR_INVALID",
    includes: "inside the data",
  });
});

Deno.test("readTar() rejects a header cut short and a zero block followed by data", async () => {
  const tar = createTar([{ path: "a", content: "x" }], { omitEndBlocks: true });
  await assertRejects(() => list(chunked(tar.subarray(0, 300))), TugError, {
    code: "TAR_INVALID",
    includes: "tar header",
  });
  const bad = concat(new Uint8Array(512), tar);
  await assertRejects(() => list(chunked(bad)), TugError, { code: "TAR_INVALID", includes: "zero block" });
});

Deno.test("readTar() yields nothing for an empty stream or a bare end-of-archive", async () => {
  assertEquals(await list(chunked(new Uint8Array(0))), []);
  assertEquals(await list(chunked(new Uint8Array(1024))), []);
});

Deno.test("readTar() cancels the input when the consumer stops early", async () => {
  let cancelled = false;
  const tar = createTar([{ path: "a" }, { path: "b" }]);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(tar.subarray(0, 512));
    },
    pull() {},
    cancel() {
      cancelled = true;
    },
  });
  for await (const e of readTar(stream)) {
    assertEquals(e.name, "a");
    break;
  }
  assert(cancelled, "the input stream was cancelled");
});
