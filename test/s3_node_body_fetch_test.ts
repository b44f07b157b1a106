/**
 * `nodeBodyFetch` (adapters/s3/node_body_fetch.ts), the fetch `tug serve --store s3://…` gives its bucket:
 * byte bodies go through node:http as they are. The store over it against real S3 servers (radosgw, which
 * enforces S3's 5 MiB part minimum and checks every signature, and s3rver), and what it puts on the wire.
 */

import { assert, assertEquals } from "./_assert.ts";
import { s3StoreContract } from "./_s3_contract.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { nodeBodyFetch } from "../adapters/s3/node_body_fetch.ts";
import { s3Store, type S3StoreOptions } from "../adapters/s3/s3_store.ts";

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A multipart blob (two 5 MiB parts and a tail) written and read back through `options`' store. */
async function roundTrip(options: S3StoreOptions): Promise<void> {
  const store = s3Store({ ...options, partSize: 5 << 20 });
  const large = Uint8Array.from({ length: (10 << 20) + 1000 }, (_, i) => (i * 104729) >> 5);
  const digest = await sha256(large);
  const writer = await store.blobs.writer({ digest, size: large.length });
  for (let at = 0; at < large.length; at += 65536) await writer.write(large.subarray(at, at + 65536));
  await writer.commit();
  assertEquals((await store.blobs.stat(digest))?.size, large.length);
  assertEquals(await readAll(await store.blobs.get(digest)), large);
}

Deno.test("nodeBodyFetch sends a byte body with its Content-Length (never chunked, which S3 refuses), byte for byte, and returns a 3xx unfollowed", async () => {
  const seen: { method: string; length: string | null; chunked: string | null; bytes: Uint8Array }[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    seen.push({
      method: req.method,
      length: req.headers.get("content-length"),
      chunked: req.headers.get("transfer-encoding"),
      bytes,
    });
    if (new URL(req.url).pathname === "/moved") {
      return new Response(null, { status: 307, headers: { location: "http://elsewhere.test/x" } });
    }
    return new Response("<ok/>", { headers: { etag: '"e"', "x-amz-request-id": "r1" } });
  });
  const fetch = nodeBodyFetch();
  const base = `http://127.0.0.1:${server.addr.port}`;
  const body = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
  const res = await fetch(`${base}/part?partNumber=1`, {
    method: "PUT",
    headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    body,
    redirect: "manual",
  });
  assertEquals([res.status, res.headers.get("etag"), await res.text()], [200, '"e"', "<ok/>"]);
  assertEquals(seen[0].method, "PUT");
  assertEquals([seen[0].length, seen[0].chunked], [String(body.length), null]);
  assertEquals(seen[0].bytes, body);

  const moved = await fetch(`${base}/moved`, { method: "PUT", body: new Uint8Array(10), redirect: "manual" });
  assertEquals([moved.status, moved.headers.get("location")], [307, "http://elsewhere.test/x"]);
  await moved.body?.cancel();
  assertEquals(seen.length, 2, "the redirect was not followed");

  // A body the bucket drops unread (cancelled) does not break the next request.
  const dropped = await fetch(`${base}/part`, { method: "PUT", body: new Uint8Array(5), redirect: "manual" });
  await dropped.body?.cancel();
  const after = await fetch(`${base}/part`, { method: "PUT", body: new Uint8Array(7), redirect: "manual" });
  assertEquals(after.status, 200);
  await after.body?.cancel();
  assertEquals(seen.map((s) => s.bytes.length).slice(2), [5, 7]);
});

Deno.test("nodeBodyFetch: no answer rejects with a TypeError, as fetch does (S3Bucket retries it)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let error: unknown;
  try {
    await nodeBodyFetch()(`http://127.0.0.1:${port}/x`, { method: "PUT", body: new Uint8Array(1) });
  } catch (err) {
    error = err;
  }
  assert(error instanceof TypeError, String(error));
});

Deno.test("s3Store over nodeBodyFetch on radosgw: the store contract, and a multipart blob written and read back", async (t) => {
  const rgw = await sharedRadosgw();
  await rgw.createBucket("node-body-fetch");
  const base: S3StoreOptions = {
    bucket: "node-body-fetch",
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    fetch: nodeBodyFetch(),
  };
  await s3StoreContract(t, (prefix) => ({ ...base, prefix }));
  // After the contract, which checks that its bucket holds nothing but its cases' objects.
  await t.step("multipart round trip", () => roundTrip({ ...base, prefix: "multipart" }));
});

Deno.test("s3Store over nodeBodyFetch on s3rver: the store contract, and a multipart blob written and read back", async (t) => {
  await using s3 = await startS3rver();
  const base: S3StoreOptions = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    fetch: nodeBodyFetch(),
  };
  await s3StoreContract(t, (prefix) => ({ ...base, prefix }));
  await t.step("multipart round trip", () => roundTrip({ ...base, prefix: "multipart" }));
});

Deno.test("nodeBodyFetch: an answer dropped unread is read on only up to 64 KiB, then its connection is closed (a hostile endpoint's endless answer)", async () => {
  let sent = 0;
  let cancelled!: () => void;
  const ended = new Promise<void>((resolve) => cancelled = resolve);
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    const chunk = new Uint8Array(16 * 1024);
    // Endless unless the client goes away (bounded all the same: 1 GiB).
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 1 << 30) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled();
      },
    });
    return new Response(body);
  });
  const res = await nodeBodyFetch()(`http://127.0.0.1:${server.addr.port}/part`, {
    method: "PUT",
    body: new Uint8Array(3),
    redirect: "manual",
  });
  assertEquals(res.status, 200);
  await res.body!.cancel();
  await ended;
  // Socket buffers on the way hold a few MiB; without the limit the whole GiB is read.
  assert(sent < 32 << 20, `the server sent ${sent} bytes before the client closed`);
});
