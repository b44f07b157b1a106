import { assertEquals } from "../../test/_assert.ts";
import { fakeContext, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { tokenRoutes } from "./_token_route.ts";

Deno.test("tokenRoutes() seals the caller's Basic credentials into a token only this proxy opens", async () => {
  const ctx = fakeContext(fakeUpstream({}), { now: () => 1_700_000_000_000 });
  const app = tokenRoutes(ctx);
  const res = await app.fetch(
    new Request("http://proxy.test/", { headers: { authorization: `Basic ${btoa("u:p")}` } }),
  );
  const body = await res.json();
  assertEquals(body.token, body.access_token);
  assertEquals([body.expires_in, body.issued_at], [900, "2023-11-14T22:13:20.000Z"]);
  assertEquals(await ctx.tokens.open(body.token), { username: "u", password: "p" });
  const other = fakeContext(fakeUpstream({}));
  assertEquals(await other.tokens.open(body.token), undefined);
  const anonymous = await (await app.fetch(new Request("http://proxy.test/"))).json();
  assertEquals(await ctx.tokens.open(anonymous.token), null);
  const malformed = await app.fetch(
    new Request("http://proxy.test/", { headers: { authorization: "Basic !!!" } }),
  );
  assertEquals(malformed.status, 401);
  await malformed.body?.cancel();
});
