import { assertEquals } from "../test/_assert.ts";
import { VERSION } from "./version.ts";
import { DEFAULT_USER_AGENT } from "./registry/with_user_agent.ts";

Deno.test("VERSION matches deno.json's version and names the default User-Agent", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assertEquals(VERSION, config.version);
  assertEquals(DEFAULT_USER_AGENT, `tug/${VERSION}`);
});
