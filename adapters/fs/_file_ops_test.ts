import { assert, assertEquals } from "../../test/_assert.ts";
import * as nodeFs from "node:fs/promises";
import {
  listNames,
  makeDirs,
  readText,
  removeFile,
  renamePath,
  statPath,
  touchPath,
  writeNewFile,
} from "./_file_ops.ts";

/** The rejection of `p` as `{ code, message }` (fails when `p` resolves). */
async function failure(p: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
  throw new Error("expected a rejection");
}

Deno.test("file ops on Deno fail with Node's error codes and messages (what node:fs/promises says)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-file-ops-" });
  try {
    const missing = `${dir}/missing`;
    const file = `${dir}/file`;
    await Deno.writeTextFile(file, "x");
    const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ["stat", () => statPath(missing), () => nodeFs.stat(missing)],
      ["read", () => readText(missing), () => nodeFs.readFile(missing, "utf8")],
      ["rename", () => renamePath(missing, `${dir}/to`), () => nodeFs.rename(missing, `${dir}/to`)],
      ["unlink", () => removeFile(missing), () => nodeFs.unlink(missing)],
      ["readdir", () => listNames(missing), () => nodeFs.readdir(missing)],
      ["exclusive create", () => writeNewFile(file, "y"), () => nodeFs.open(file, "wx")],
      [
        "mkdir under a file",
        () => makeDirs(`${file}/sub`),
        () => nodeFs.mkdir(`${file}/sub`, { recursive: true }),
      ],
    ];
    for (const [what, ours, node] of pairs) {
      assertEquals({ what, ...(await failure(ours())) }, { what, ...(await failure(node())) });
    }
    assertEquals(await Deno.readTextFile(file), "x", "an exclusive create leaves an existing file alone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file ops on Deno: create, read, stat, touch, list, rename and remove a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-file-ops-" });
  try {
    await makeDirs(`${dir}/a/b`);
    await makeDirs(`${dir}/a/b`); // an existing folder is fine, as with mkdir -p
    const path = `${dir}/a/b/f.json`;
    // A byte order mark is kept (as node:fs/promises' readFile does), so JSON.parse refuses such a file.
    await writeNewFile(path, "\ufeff{}", { sync: true, mode: 0o600 });
    assertEquals(await readText(path), "\ufeff{}");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const info = await statPath(path);
    assertEquals([info.size, info.isFile(), info.isDirectory()], [5, true, false]);
    const time = new Date(1_700_000_000_000);
    await touchPath(path, time);
    assertEquals((await statPath(path)).mtimeMs, time.getTime());
    assertEquals((await statPath(path)).mtime.getTime(), time.getTime());
    await renamePath(path, `${dir}/a/g.json`);
    assertEquals((await listNames(`${dir}/a`)).sort(), ["b", "g.json"]);
    await removeFile(`${dir}/a/g.json`);
    assertEquals(await listNames(`${dir}/a`), ["b"]);
    assert((await statPath(`${dir}/a/b`)).isDirectory());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
