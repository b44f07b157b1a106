import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { tokenSecretFromHex } from "./token_secret.ts";
import { proxyFromEnv } from "./workerd.ts";

Deno.test("tokenSecretFromHex reads 64 hex digits as 32 bytes; nothing or blank is undefined", () => {
  const secret = tokenSecretFromHex(`${"0a".repeat(16)}${"FF".repeat(16)}\n`);
  assertEquals(secret?.length, 32);
  assertEquals([secret?.[0], secret?.[31]], [10, 255]);
  assertEquals(tokenSecretFromHex(undefined), undefined);
  assertEquals(tokenSecretFromHex("  "), undefined);
});

Deno.test("tokenSecretFromHex refuses text that is not 64 hex digits, naming the variable", () => {
  assertThrows(
    () => tokenSecretFromHex("abc", "TOKEN_SECRET"),
    TypeError,
    "TOKEN_SECRET must be 64 hex digits",
  );
  assertThrows(() => tokenSecretFromHex("zz".repeat(32)), TypeError, "TUG_TOKEN_SECRET");
});

/** A token from `issuer`'s /token endpoint, presented to `other`'s /v2/: the status it answers. */
async function crossTokenStatus(
  issuer: ReturnType<typeof proxyFromEnv>,
  other: ReturnType<typeof proxyFromEnv>,
): Promise<number> {
  const res = await issuer.fetch(new Request("http://worker.test/token?service=tug-proxy"));
  const { token } = await res.json() as { token: string };
  const check = await other.fetch(
    new Request("http://worker.test/v2/", { headers: { authorization: `Bearer ${token}` } }),
  );
  await check.body?.cancel();
  return check.status;
}

Deno.test("proxyFromEnv with the same TOKEN_SECRET: one isolate opens the tokens another issued", async () => {
  const env = { UPSTREAMS: '{"hub":"https://registry.example"}', TOKEN_SECRET: "ab".repeat(32) };
  assertEquals(await crossTokenStatus(proxyFromEnv(env), proxyFromEnv(env)), 200);
  // Without it each isolate has its own random key: the other's token is refused.
  const alone = { UPSTREAMS: env.UPSTREAMS };
  assertEquals(await crossTokenStatus(proxyFromEnv(alone), proxyFromEnv(alone)), 401);
});

Deno.test("proxyFromEnv refuses a TOKEN_SECRET that is not 64 hex digits, naming the binding", () => {
  assertThrows(
    () => proxyFromEnv({ TOKEN_SECRET: "secret" }),
    TypeError,
    "TOKEN_SECRET must be 64 hex digits",
  );
});
