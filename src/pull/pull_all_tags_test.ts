import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { fakeHosts, fakeImage, fakeRegistry } from "../registry/_fake_registry_test_util.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { ProgressEvent } from "./events.ts";
import { pullAllTags } from "./pull_all_tags.ts";

const V2 = "registry/2.0";

Deno.test("pullAllTags() pulls every tag, following the tag list's pages, into one store", async () => {
  const image = await fakeImage(600, 9);
  const registry = fakeRegistry({ "team/tool": image }, { apiVersion: V2, tags: ["a", "b", "c"] });
  const store = new MemoryStore();
  const events: ProgressEvent[] = [];
  const result = await pullAllTags("reg.test/team/tool", {
    store,
    fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
    retry: { attempts: 1 },
    tagsPageSize: 2,
    onProgress: (e) => events.push(e),
  });
  assertEquals(result.reference, "reg.test/team/tool");
  assertEquals(result.tags.map((t) => t.familiar), [
    "reg.test/team/tool:a",
    "reg.test/team/tool:b",
    "reg.test/team/tool:c",
  ]);
  assertEquals(result.tags.map((t) => t.digest), [
    image.manifestDigest,
    image.manifestDigest,
    image.manifestDigest,
  ]);
  assertEquals(result.status, "Downloaded newer image for reg.test/team/tool");
  assertEquals(result.downloaded, true);
  assertEquals(result.attempts.map((a) => a.outcome), ["pulled"]);
  // Two pages of the tag list, asked with n and then last.
  assertEquals(registry.requests.filter((r) => r.includes("/tags/list")), [
    "GET /v2/team/tool/tags/list?n=2",
    "GET /v2/team/tool/tags/list?n=2&last=b",
  ]);
  // The layer is downloaded once for the three tags.
  assertEquals(
    registry.requests.filter((r) => r === `GET /v2/team/tool/blobs/${image.layerDigest}`).length,
    1,
  );
  const names = (await store.references.list()).map((r) => r.name).sort();
  assertEquals(names, [
    "reg.test/team/tool:a",
    "reg.test/team/tool:b",
    "reg.test/team/tool:c",
    `reg.test/team/tool@${image.manifestDigest}`,
  ]);
  // One closing status line for the whole repository, not one per tag.
  assertEquals(events.filter((e) => e.status.startsWith("Status: ")).map((e) => e.status), [
    "Status: Downloaded newer image for reg.test/team/tool",
  ]);
});

Deno.test("pullAllTags() refuses a tag or a digest before any request", async () => {
  const registry = fakeRegistry({});
  const fetch = fakeHosts({ "https://reg.test": registry.fetch }).fetch;
  await assertRejects(
    () => pullAllTags("reg.test/team/tool:1", { store: new MemoryStore(), fetch }),
    TypeError,
  );
  await assertRejects(
    () => pullAllTags(`reg.test/team/tool@sha256:${"a".repeat(64)}`, { store: new MemoryStore(), fetch }),
    TypeError,
  );
  assertEquals(registry.requests, []);
});
