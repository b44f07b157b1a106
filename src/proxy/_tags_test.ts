import { assertEquals } from "../../test/_assert.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { tagsRoute } from "./_tags.ts";
import { resolveTarget, type Target } from "./_target.ts";

Deno.test("tagsRoute() pages with n and last, and links the next page keeping ?ns=", async () => {
  const upstream = fakeUpstream({ "acme/app": await fakeImage() }, { tags: ["a", "b", "c"] });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", "hub") as Target;
  const first = await tagsRoute(
    ctx,
    new Request("http://proxy.test/v2/acme/app/tags/list?n=2&ns=hub"),
    target,
    { key: "anonymous" },
    "acme/app",
  );
  assertEquals(await first.json(), { name: "acme/app", tags: ["a", "b"] });
  assertEquals(first.headers.get("link"), '</v2/acme/app/tags/list?n=2&last=b&ns=hub>; rel="next"');
  const head = await tagsRoute(
    ctx,
    new Request("http://proxy.test/v2/acme/app/tags/list?n=2&last=b", { method: "HEAD" }),
    target,
    { key: "anonymous" },
    "acme/app",
  );
  assertEquals([head.status, await head.text(), head.headers.get("link")], [200, "", null]);
  assertEquals(upstream.requests.at(-1), "GET /v2/acme/app/tags/list?n=2&last=b");
});

Deno.test("tagsRoute() refuses a page size that is not a whole number", async () => {
  const upstream = fakeUpstream({});
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  for (const n of ["x", "-1", "1.5", "99999999999999999999"]) {
    const res = await tagsRoute(
      ctx,
      new Request(`http://proxy.test/v2/acme/app/tags/list?n=${n}`),
      target,
      { key: "anonymous" },
      "acme/app",
    );
    assertEquals([res.status, (await res.json()).errors[0].code], [400, "PAGINATION_NUMBER_INVALID"], n);
  }
  assertEquals(upstream.requests, []);
});
