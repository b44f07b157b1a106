import { assert, assertEquals } from "../../test/_assert.ts";
import { createContext } from "./_context.ts";
import { resolveTarget, type Target } from "./_target.ts";
import { MemoryStore } from "../store/memory_store.ts";

const ctx = () =>
  createContext({
    store: new MemoryStore(),
    upstreams: {
      "docker.io": "https://registry-1.docker.io",
      ghcr: "https://ghcr.io",
      local: "http://127.0.0.1:5000",
    },
    fetch: () => Promise.reject(new Error("no upstream request expected")),
  });

const where = (t: Target | Response) =>
  t instanceof Response ? t.status : `${t.upstream.name} ${t.repo} ${t.key}`;

Deno.test("resolveTarget() picks the upstream by name, host, reference host and ?ns=, and adds library/ for Docker Hub", () => {
  const c = ctx();
  assertEquals(where(resolveTarget(c, "alpine", null)), "docker.io library/alpine docker.io/library/alpine");
  assertEquals(where(resolveTarget(c, "acme/app", null)), "docker.io acme/app docker.io/acme/app");
  assertEquals(where(resolveTarget(c, "ghcr/acme/app", null)), "ghcr acme/app ghcr.io/acme/app");
  assertEquals(where(resolveTarget(c, "ghcr.io/acme/app", null)), "ghcr acme/app ghcr.io/acme/app");
  assertEquals(
    where(resolveTarget(c, "docker.io/alpine", null)),
    "docker.io library/alpine docker.io/library/alpine",
  );
  assertEquals(where(resolveTarget(c, "127.0.0.1:5000/x", null)), "local x 127.0.0.1:5000/x");
  assertEquals(where(resolveTarget(c, "acme/app", "ghcr.io")), "ghcr acme/app ghcr.io/acme/app");
  // Only Docker Hub-like upstreams get library/.
  assertEquals(where(resolveTarget(c, "x", "local")), "local x 127.0.0.1:5000/x");
});

Deno.test("resolveTarget() refuses an unconfigured host with 403 DENIED and counts it", async () => {
  const c = ctx();
  for (
    const [name, ns] of [["evil.example/x", null], ["localhost/x", null], ["10.0.0.1:80/x", null], [
      "x",
      "evil.example",
    ]]
  ) {
    const answer = resolveTarget(c, name!, ns);
    assert(answer instanceof Response, `${name} ${ns}`);
    assertEquals(answer.status, 403);
    const body = await answer.json();
    assertEquals(body.errors[0].code, "DENIED");
    assert(body.errors[0].message.includes("configured: docker.io, ghcr, local"), body.errors[0].message);
  }
  assertEquals(c.metrics.refused, 4);
});

Deno.test("resolveTarget() answers 400 NAME_INVALID for names outside the repository grammar", async () => {
  const c = ctx();
  for (const name of ["UPPER/case", "a//b", "-x/y", "a/", "%2e%2e/x", "a/../b", "x".repeat(256)]) {
    const answer = resolveTarget(c, name, null);
    assert(answer instanceof Response, name);
    assertEquals([answer.status, (await answer.json()).errors[0].code], [400, "NAME_INVALID"], name);
  }
  assertEquals(c.metrics.refused, 0);
});
