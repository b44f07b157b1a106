import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { type ObjectBucket, ObjectStore } from "./object_store.ts";

const DIGEST = "sha256:" + "ab".repeat(32);

/** A bucket that answers nothing but presign(), and records what it was asked to sign. */
function presigningBucket(presign: boolean) {
  const asked: Array<{ key: string; expiresIn: number }> = [];
  const refuse = () => Promise.reject(new Error("not in this test"));
  const bucket: ObjectBucket = {
    head: refuse,
    get: refuse,
    put: refuse,
    delete: refuse,
    createMultipartUpload: refuse,
    list: async function* () {},
    ...(presign
      ? {
        presign: (key: string, options: { expiresIn: number }) => {
          asked.push({ key, expiresIn: options.expiresIn });
          return Promise.resolve(`https://bucket.test/${key}?X-Amz-Expires=${options.expiresIn}`);
        },
      }
      : {}),
  };
  return { bucket, asked };
}

Deno.test("ObjectStore blobs.url() is the bucket's presigned URL of the blob's object; absent when the bucket cannot presign", async () => {
  const { bucket, asked } = presigningBucket(true);
  const store = new ObjectStore({ bucket, prefix: "cache/tug" });
  assertEquals(
    await store.blobs.url?.(DIGEST, { expiresIn: 600 }),
    `https://bucket.test/cache/tug/blobs/sha256/${"ab".repeat(32)}?X-Amz-Expires=600`,
  );
  assertEquals(asked, [{ key: `cache/tug/blobs/sha256/${"ab".repeat(32)}`, expiresIn: 600 }]);
  // A digest is checked before it becomes a key (no `..` or other object through a crafted digest).
  await assertRejects(() => store.blobs.url!("sha256:../../refs/x", { expiresIn: 600 }));
  assertEquals(asked.length, 1);

  const binding = new ObjectStore({ bucket: presigningBucket(false).bucket });
  assertEquals(binding.blobs.url, undefined);
});

Deno.test("ObjectStore blob writer holds at most two part buffers however many parts the blob has", async () => {
  const { memoryBucket } = await import("./_memory_bucket_test_util.ts");
  const inner = memoryBucket();
  // The distinct buffers the parts were sent from: what the writer allocated for them.
  const buffers = new Set<ArrayBufferLike>();
  let parts = 0;
  const bucket: ObjectBucket = {
    ...inner,
    head: (key) => inner.head(key),
    get: (key, range) => inner.get(key, range),
    put: (key, body) => inner.put(key, body),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
    createMultipartUpload: async (key) => {
      const upload = await inner.createMultipartUpload(key);
      return {
        uploadPart: (n, body) => {
          buffers.add(body.buffer);
          parts++;
          return upload.uploadPart(n, body);
        },
        complete: (list) => upload.complete(list),
        abort: () => upload.abort(),
      };
    },
  };
  const partSize = 1024;
  const bytes = new Uint8Array(40 * partSize + 100);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const digest = "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  const store = new ObjectStore({ bucket, partSize });
  const writer = await store.blobs.writer({ digest, size: bytes.length });
  // Chunks that do not line up with the parts, as a fill's upstream chunks do not.
  for (let i = 0; i < bytes.length; i += 300) await writer.write(bytes.slice(i, i + 300));
  await writer.commit();
  assertEquals(parts, 41);
  assertEquals(buffers.size <= 2, true, `${buffers.size} part buffers`);
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer()), bytes);
});

Deno.test("ObjectStore blob writer uploads a blob of more than 10,000 × partSize in at most 10,000 parts (S3's and R2's limit), all but the last of one size", async () => {
  const { memoryBucket } = await import("./_memory_bucket_test_util.ts");
  const inner = memoryBucket();
  const sizes: number[] = [];
  const bucket: ObjectBucket = {
    ...inner,
    head: (key) => inner.head(key),
    get: (key, range) => inner.get(key, range),
    put: (key, body) => inner.put(key, body),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
    createMultipartUpload: async (key) => {
      const upload = await inner.createMultipartUpload(key);
      return {
        uploadPart: (n, body) => (sizes.push(body.length), upload.uploadPart(n, body)),
        complete: (list) => upload.complete(list),
        abort: () => upload.abort(),
      };
    },
  };
  // 25,000 bytes in parts of 2: 12,500 parts at the configured size, past the limit.
  const bytes = Uint8Array.from({ length: 25_000 }, (_, i) => (i * 7) & 0xff);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const digest = "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  const store = new ObjectStore({ bucket, partSize: 2 });
  const writer = await store.blobs.writer({ digest, size: bytes.length });
  for (let i = 0; i < bytes.length; i += 1000) await writer.write(bytes.subarray(i, i + 1000));
  await writer.commit();
  assertEquals(sizes.length <= 10_000, true, `${sizes.length} parts`);
  assertEquals(new Set(sizes.slice(0, -1)).size, 1, "every part but the last has the same size");
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer()), bytes);
});
