import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../../src/errors.ts";
import { ConfinedRoot, type Inside, ROOT } from "./_confined_root.ts";

Deno.test("ConfinedRoot refuses every mutation of a path that is not plain names, even one cast to Inside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-confined-" });
  try {
    await Deno.mkdir(`${dir}/root/a`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sentinel`, "outside\n");
    const fs = new ConfinedRoot(`${dir}/root`);
    for (const forged of ["..", "../sentinel", "a/../..", "a/../../sentinel", ".", "a/.", "a//b", "/etc"]) {
      const path = forged as Inside;
      await assertRejects(() => fs.remove(path), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.createFile(path), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.mkdir(path), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.symlink("x", path), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.link("a" as Inside, path), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.setDirMeta(path, 0o777), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.lchown(path, 0, 0), TugError, { code: "UNSAFE_PATH" });
      await assertRejects(() => fs.lutimes(path, 0), TugError, { code: "UNSAFE_PATH" });
    }
    // The root itself can have its metadata set, but is never removed or linked.
    await assertRejects(() => fs.remove(ROOT), TugError, { code: "UNSAFE_PATH", includes: "target folder" });
    await assertRejects(() => fs.link(ROOT, "b" as Inside), TugError, { code: "UNSAFE_PATH" });
    // Names from a tar are checked where they enter: place() and child().
    for (const name of ["..", ".", ""]) {
      await assertRejects(() => fs.place(`a/${name}`, `a/${name}`, true), TugError, { code: "UNSAFE_PATH" });
    }
    assertEquals(await Deno.readTextFile(`${dir}/sentinel`), "outside\n");
    assertEquals((await Deno.lstat(`${dir}/root`)).isDirectory, true);
    assertEquals((await Deno.lstat(`${dir}/root/a`)).isDirectory, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
