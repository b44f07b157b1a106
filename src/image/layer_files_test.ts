import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { createTar } from "../../test/harness/tar.ts";
import { TugError } from "../errors.ts";
import { listLayerFiles } from "./layer_files.ts";

const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

function stream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}

async function run(cmd: string, args: string[], cwd?: string): Promise<Uint8Array> {
  const { success, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!success) throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  return stdout;
}

/** A folder with long names, a deep path, symlinks (short and long targets), hard links and an empty file. */
async function makeTree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tug-tar-" });
  const deep = `${root}/src/${"deep-directory-name/".repeat(8)}`;
  await Deno.mkdir(deep, { recursive: true });
  const longName = "f".repeat(180) + ".txt";
  await Deno.writeTextFile(`${deep}${longName}`, "long name\n");
  await Deno.writeTextFile(`${root}/src/small`, "s");
  await Deno.writeFile(`${root}/src/empty`, new Uint8Array(0));
  await Deno.writeFile(`${root}/src/blob`, new Uint8Array(70_000).fill(7));
  await Deno.symlink("small", `${root}/src/link`);
  await Deno.symlink(`${"../".repeat(2)}${"t".repeat(150)}`, `${root}/src/longlink`);
  await Deno.link(`${root}/src/small`, `${root}/src/hard`);
  await Deno.link(`${deep}${longName}`, `${root}/src/hard-to-long`);
  return root;
}

interface Fact {
  name: string;
  size: number;
  link: string;
}

/** What GNU tar reports: names from `tar -tf`, sizes and link targets from `tar -tvf`. */
async function gnuFacts(archive: string): Promise<Fact[]> {
  const names = new TextDecoder().decode(await run("tar", ["-tf", archive])).split("\n").filter(Boolean);
  const lines = new TextDecoder().decode(await run("tar", ["--quoting-style=literal", "-tvf", archive]))
    .split("\n").filter(Boolean);
  return names.map((name, i) => {
    const fields = lines[i].split(/\s+/);
    const tail = lines[i].slice(lines[i].indexOf(name) + name.length);
    const link = tail.startsWith(" -> ") ? tail.slice(4) : tail.startsWith(" link to ") ? tail.slice(9) : "";
    return { name, size: Number(fields[2]), link };
  });
}

for (const format of ["posix", "gnu"]) {
  Deno.test(`listLayerFiles() lists a GNU tar --format=${format} layer as tar -tvf does`, async () => {
    const root = await makeTree();
    try {
      const archive = `${root}/layer.tar`;
      await run("tar", [`--format=${format}`, "-C", `${root}/src`, "-cf", archive, "."]);
      await run("gzip", ["-k", archive]);
      const expected = await gnuFacts(archive);
      assertEquals(expected.length, 17); // ., 8 directories, 4 files, 2 symlinks, 2 hard links
      for (
        const [file, mediaType] of [[archive, "application/vnd.oci.image.layer.v1.tar"], [
          `${archive}.gz`,
          GZIP,
        ]]
      ) {
        const blob = (await Deno.open(file)).readable;
        const entries = await listLayerFiles(blob, mediaType);
        // GNU tar prints hard links with size 0, as tug reports them.
        assertEquals(entries.map((e) => ({ name: e.name, size: e.size, link: e.linkname })), expected);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("listLayerFiles() reads a zstd layer made by the zstd CLI and reports compressed progress", async () => {
  const root = await Deno.makeTempDir({ prefix: "tug-zst-" });
  try {
    await Deno.writeFile(
      `${root}/layer.tar`,
      createTar([{ path: "a", content: "x".repeat(100_000) }, { path: "b", type: "directory" }]),
    );
    await run("zstd", ["-q", `${root}/layer.tar`]);
    const size = (await Deno.stat(`${root}/layer.tar.zst`)).size;
    const seen: number[] = [];
    const entries = await listLayerFiles((await Deno.open(`${root}/layer.tar.zst`)).readable, ZSTD, {
      onProgress: (n) => seen.push(n),
    });
    assertEquals(entries.map((e) => [e.name, e.type, e.size]), [["a", "file", 100_000], [
      "b/",
      "directory",
      0,
    ]]);
    assertEquals(seen[seen.length - 1], size);
    assert(!("body" in entries[0]), "listed entries carry no body");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("listLayerFiles() trusts the bytes over a media type that lies", async () => {
  const tar = createTar([{ path: "hello", content: "hi" }]);
  const plainAsGzip = await listLayerFiles(stream(tar), GZIP);
  assertEquals(plainAsGzip.map((e) => e.name), ["hello"]);
  const gz = new Response(tar as Uint8Array<ArrayBuffer>).body!.pipeThrough(new CompressionStream("gzip"));
  assertEquals((await listLayerFiles(gz, ZSTD, { gzipDecoder: "fflate" })).map((e) => e.name), ["hello"]);
});

Deno.test("listLayerFiles() names the media type when the layer is corrupt", async () => {
  const tar = createTar([{ path: "a", content: "x".repeat(5000) }]).subarray(0, 2000);
  await assertRejects(() => listLayerFiles(stream(tar), GZIP), TugError, {
    code: "TAR_INVALID",
    includes: GZIP,
  });
});

Deno.test("listLayerFiles() stops with ABORTED when the signal fires mid-stream", async () => {
  const controller = new AbortController();
  let cancelled = false;
  const blob = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(createTar([{ path: "a", content: "1" }], { omitEndBlocks: true }));
    },
    pull() {
      controller.abort();
      return new Promise(() => {}); // the network never answers again
    },
    cancel() {
      cancelled = true;
    },
  });
  await assertRejects(() => listLayerFiles(blob, GZIP, { signal: controller.signal }), TugError, {
    code: "ABORTED",
  });
  assert(cancelled, "the blob stream was cancelled");
  const aborted = AbortSignal.abort();
  await assertRejects(() => listLayerFiles(new Response("x").body!, GZIP, { signal: aborted }), TugError, {
    code: "ABORTED",
  });
});
