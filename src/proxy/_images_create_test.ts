import { assertEquals } from "../../test/_assert.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { imageRequestOf, imagesRoutes } from "./_images_create.ts";

const d = `sha256:${"a".repeat(64)}`;

Deno.test("imageRequestOf() reads fromImage with the reference grammar; a tag parameter replaces its tag or digest", () => {
  assertEquals(imageRequestOf("alpine", null), { name: "alpine" });
  assertEquals(imageRequestOf("alpine:3.20", null), { name: "alpine", tag: "3.20" });
  assertEquals(imageRequestOf("hub/acme/app:v1", ""), { name: "hub/acme/app", tag: "v1" });
  assertEquals(imageRequestOf("localhost:5000/x", null), { name: "localhost:5000/x" });
  assertEquals(imageRequestOf(`alpine@${d}`, null), { name: "alpine", digest: d });
  // Both: by digest, as Docker pulls it.
  assertEquals(imageRequestOf(`alpine:3.20@${d}`, null), { name: "alpine", digest: d });
  // Docker Engine: `tag` replaces what fromImage names, and is a digest when it holds a colon.
  assertEquals(imageRequestOf(`alpine@${d}`, "edge"), { name: "alpine", tag: "edge" });
  assertEquals(imageRequestOf("alpine:3.20", d), { name: "alpine", digest: d });
});

Deno.test("imageRequestOf() names what is wrong with a reference it refuses", () => {
  const problem = (fromImage: string | null, tag: string | null = null) => {
    const asked = imageRequestOf(fromImage, tag);
    return typeof asked === "string" ? asked : "accepted";
  };
  assertEquals(problem(null), "fromImage is required");
  assertEquals(problem(""), "fromImage is required");
  for (const bad of ["alpine:", "alpine@", "alpine@sha256:abc", "-x/y", "a//b", "x".repeat(300), "a/../b"]) {
    const message = problem(bad);
    assertEquals(message !== "accepted" && message.includes(bad.slice(0, 20)), true, `${bad}: ${message}`);
  }
  assertEquals(problem("alpine", ".hidden"), 'Invalid tag ".hidden"');
  assertEquals(problem("alpine", "sha256:abc").startsWith('Invalid digest "sha256:abc"'), true);
});

/** The lines a POST /images/create streamed. */
async function lines(res: Response): Promise<Record<string, unknown>[]> {
  return (await res.text()).split("\r\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("imagesRoutes() pulls name:tag@digest by its digest and confirms the manifest for the caller", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const app = imagesRoutes(ctx);
  const fromImage = encodeURIComponent(`hub/acme/app:v1@${image.manifestDigest}`);
  const res = await app.fetch(
    new Request(`http://proxy.test/create?fromImage=${fromImage}`, { method: "POST" }),
  );
  assertEquals(res.status, 200);
  const streamed = await lines(res);
  assertEquals(streamed.filter((l) => "error" in l), []);
  assertEquals(upstream.requests.includes(`GET /v2/acme/app/manifests/${image.manifestDigest}`), true);
  assertEquals(upstream.requests.some((r) => r.includes("/manifests/v1")), false);
  assertEquals(
    ctx.access.mayRead({ caller: "anonymous", repository: "hub.test/acme/app" }, image.layerDigest),
    true,
  );
  // Pulled by digest: the tag was not checked.
  assertEquals(ctx.tagChecked.get("hub.test/acme/app:v1"), undefined);
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length);
});

Deno.test("imagesRoutes() pulls the tag parameter over fromImage's digest, and refuses unconfigured hosts", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const app = imagesRoutes(ctx);
  const fromImage = encodeURIComponent(`acme/app@${image.manifestDigest}`);
  const res = await app.fetch(
    new Request(`http://proxy.test/create?fromImage=${fromImage}&tag=v1`, { method: "POST" }),
  );
  assertEquals((await lines(res)).filter((l) => "error" in l), []);
  assertEquals(upstream.requests.some((r) => r.includes("/manifests/v1")), true);
  assertEquals(typeof ctx.tagChecked.get("hub.test/acme/app:v1"), "number");
  const refused = await app.fetch(
    new Request("http://proxy.test/create?fromImage=evil.example/x", { method: "POST" }),
  );
  assertEquals(refused.status, 403);
  assertEquals(
    (await refused.json()).message.startsWith('The upstream "evil.example" is not configured'),
    true,
  );
  const invalid = await app.fetch(
    new Request("http://proxy.test/create?fromImage=alpine:", { method: "POST" }),
  );
  assertEquals([invalid.status, (await invalid.json()).message], [
    400,
    'Invalid reference "alpine:": the tag is empty',
  ]);
});
