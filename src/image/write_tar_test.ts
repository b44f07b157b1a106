import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { readTar } from "./tar_reader.ts";
import { type TarWriterEntry, writeTar } from "./write_tar.ts";

const enc = new TextEncoder();

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
}

Deno.test("writeTar() round-trips files, directories, symlinks and long names through readTar() and GNU tar", async () => {
  const longName = `${"deep-directory/".repeat(12)}${"x".repeat(120)}.txt`;
  const entries: TarWriterEntry[] = [
    { name: "dir", type: "directory", mtime: 1_700_000_000 },
    { name: "dir/a.txt", size: 6, body: streamOf(enc.encode("hel"), enc.encode("lo\n")), mode: 0o600 },
    { name: "dir/link", type: "symlink", linkname: "a.txt" },
    { name: longName, size: 1000, body: new Uint8Array(1000).fill(7) },
    { name: "empty", size: 0 },
  ];
  const bytes = new Uint8Array(await new Response(writeTar(entries)).arrayBuffer());
  assertEquals(bytes.length % 512, 0);
  const seen: string[] = [];
  for await (const e of readTar(new Response(bytes).body!)) {
    const body = e.type === "file" ? new Uint8Array(await new Response(e.body).arrayBuffer()) : undefined;
    seen.push(`${e.type} ${e.name} ${e.mode.toString(8)} ${e.linkname} ${body?.length ?? "-"} ${e.mtime}`);
    if (e.name === "dir/a.txt") assertEquals(new TextDecoder().decode(body), "hello\n");
    if (e.name === longName) assert(body!.every((b) => b === 7));
  }
  assertEquals(seen, [
    "directory dir/ 755  - 1700000000",
    "file dir/a.txt 600  6 0",
    "symlink dir/link 777 a.txt - 0",
    `file ${longName} 644  1000 0`,
    "file empty 644  0 0",
  ]);
  // GNU tar reads it too (the PAX path record included).
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/t.tar`, bytes);
    const out = await new Deno.Command("tar", { args: ["-tf", `${dir}/t.tar`], stdout: "piped" }).output();
    assert(out.success);
    assertEquals(new TextDecoder().decode(out.stdout).trim().split("\n"), [
      "dir/",
      "dir/a.txt",
      "dir/link",
      longName,
      "empty",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTar() fails on a body shorter or longer than its size, naming the entry", async () => {
  for (const [size, text] of [[10, "ended after 3 of 10"], [2, "longer than its size (2)"]] as const) {
    await assertRejects(
      () => new Response(writeTar([{ name: "f", size, body: streamOf(enc.encode("abc")) }])).arrayBuffer(),
      RangeError,
      text,
    );
  }
  await assertRejects(
    () => new Response(writeTar([{ name: "g", size: 5, body: enc.encode("abc") }])).arrayBuffer(),
    RangeError,
    '"g"',
  );
});

Deno.test("writeTar() asks for the next entry only when the reader wants more bytes", async () => {
  let asked = 0;
  async function* entries(): AsyncGenerator<TarWriterEntry> {
    for (let i = 0; i < 3; i++) {
      asked++;
      yield { name: `f${i}`, size: 1, body: enc.encode("x") };
    }
  }
  const reader = writeTar(entries()).getReader();
  assertEquals(asked, 0);
  await reader.read(); // the first header
  assertEquals(asked, 1);
  await reader.cancel();
  assertEquals(asked, 1);
});
