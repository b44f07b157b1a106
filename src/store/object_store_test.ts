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
