// The blob lock of the OCI layout store (blob_lock.ts), against lock files left by real processes: a live
// one (`sleep`), one that exited, one killed with SIGKILL.
import { hostname } from "node:os";
import { assert, assertEquals, assertRejects } from "../../../test/_assert.ts";
import { sha256Digest } from "../../../test/harness/images.ts";
import { OciLayoutStore } from "../oci_layout_store.ts";

const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
const digest = sha256Digest(data);
const hex = digest.slice("sha256:".length);

async function layout(): Promise<{ dir: string; store: OciLayoutStore } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tug-blob-lock-" });
  return {
    dir,
    store: await OciLayoutStore.open(dir, { fsync: false }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A real process that runs until disposed of (killed). */
function liveProcess(): { pid: number } & AsyncDisposable {
  const child = new Deno.Command("sleep", { args: ["120"], stdout: "null", stderr: "null" }).spawn();
  return {
    pid: child.pid,
    [Symbol.asyncDispose]: async () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited already
      }
      await child.status;
    },
  };
}

/** The PID of a process that has exited (killed with SIGKILL, as a crashed `tug pull`). */
async function killedPid(): Promise<number> {
  const child = new Deno.Command("sleep", { args: ["120"], stdout: "null", stderr: "null" }).spawn();
  child.kill("SIGKILL");
  await child.status;
  return child.pid;
}

async function writeLock(dir: string, pid: number): Promise<string> {
  const path = `${dir}/.tug/locks/sha256-${hex}`;
  await Deno.writeTextFile(path, JSON.stringify({ pid, host: hostname(), token: "other", time: Date.now() }));
  return path;
}

async function lockOwner(path: string): Promise<number | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)).pid;
  } catch {
    return undefined;
  }
}

Deno.test("OciLayoutStore blobs.writer() waits while another live process holds the blob's lock, and resolves once it committed", async () => {
  await using l = await layout();
  await using holder = liveProcess();
  const lock = await writeLock(l.dir, holder.pid);
  let settled = false;
  const pending = l.store.blobs.writer({ digest, size: data.length }).finally(() => settled = true);
  // Still waiting after several polls (without the lock it resolves at once).
  await new Promise((resolve) => setTimeout(resolve, 300));
  assertEquals(settled, false);
  assertEquals(await lockOwner(lock), holder.pid);

  // The holder commits (renames its blob into place), then releases its lock.
  await Deno.writeFile(`${l.dir}/blobs/sha256/${hex}`, data);
  await Deno.remove(lock);
  const writer = await pending;
  // The caller finds the blob there and drops its writer; the lock is gone with it.
  assertEquals(await l.store.blobs.stat(digest), { digest, size: data.length });
  await writer.abort();
  assertEquals(await lockOwner(lock), undefined);
});

Deno.test("OciLayoutStore blobs.writer() takes over the lock and the bytes of a holder that was killed", async () => {
  await using l = await layout();
  const dead = await killedPid();
  const lock = await writeLock(l.dir, dead);
  // What the killed holder had written: its temp file, named with its PID.
  await Deno.writeFile(`${l.dir}/.tug/tmp/sha256-${hex}.${dead}.abc`, data.subarray(0, 40_000));
  const writer = await l.store.blobs.writer({ digest, size: data.length }, { resume: true });
  assertEquals(await lockOwner(lock), Deno.pid);
  assertEquals(writer.offset, 40_000);
  await writer.write(data.subarray(40_000));
  await writer.commit();
  assertEquals(await l.store.blobs.stat(digest), { digest, size: data.length });
  assertEquals(await lockOwner(lock), undefined, "released after the commit");
});

Deno.test("OciLayoutStore blobs.writer() takes over a lock its live holder stopped touching (older than staleLockAge)", async () => {
  await using l = await layout();
  await using holder = liveProcess();
  const store = await OciLayoutStore.open(l.dir, { fsync: false, staleLockAge: 60_000 });
  const lock = await writeLock(l.dir, holder.pid);
  const old = new Date(Date.now() - 120_000);
  await Deno.utime(lock, old, old);
  const writer = await store.blobs.writer({ digest, size: data.length });
  assertEquals(await lockOwner(lock), Deno.pid);
  await writer.abort();
  assertEquals(await lockOwner(lock), undefined);
});

Deno.test("OciLayoutStore blobs.writer() stops waiting for a lock when its signal fires", async () => {
  await using l = await layout();
  await using holder = liveProcess();
  const lock = await writeLock(l.dir, holder.pid);
  const controller = new AbortController();
  const pending = l.store.blobs.writer({ digest, size: data.length }, { signal: controller.signal });
  controller.abort(new Error("cancelled by the test"));
  await assertRejects(() => pending, Error, "cancelled by the test");
  assertEquals(await lockOwner(lock), holder.pid, "the holder's lock is left alone");
});

Deno.test("OciLayoutStore blobs.writer() keeps its lock fresh while it writes, and two writers of one process never wait", async () => {
  await using l = await layout();
  const store = await OciLayoutStore.open(l.dir, { fsync: false, staleLockAge: 600 });
  const lock = `${l.dir}/.tug/locks/sha256-${hex}`;
  const a = await store.blobs.writer({ digest, size: data.length });
  const b = await store.blobs.writer({ digest, size: data.length });
  const first = (await Deno.stat(lock)).mtime!.getTime();
  // The heartbeat (every sixth of staleLockAge) moves the mtime on; bounded poll.
  let touched = false;
  for (let i = 0; i < 100 && !touched; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    touched = (await Deno.stat(lock)).mtime!.getTime() > first;
  }
  assert(touched, "the lock's mtime moved on");
  await a.write(data);
  await b.write(data);
  await a.commit();
  await b.commit();
  assertEquals(await lockOwner(lock), undefined);
});
