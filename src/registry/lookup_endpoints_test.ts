import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { isInsecureRegistry, lookupEndpoints, normalizeMirror } from "./lookup_endpoints.ts";

const urls = (domain: string, config = {}) =>
  lookupEndpoints(domain, config).map((e) => `${e.url} v${e.version}${e.mirror ? " mirror" : ""}`);

Deno.test("lookupEndpoints() lists Docker's endpoint order for each kind of host", () => {
  const mirrors = ["https://m1.example.com", "http://m2.example.com:5000/"];
  const cases: Array<[string, Parameters<typeof lookupEndpoints>[1], string[]]> = [
    ["docker.io", {}, ["https://registry-1.docker.io v2"]],
    ["docker.io", { mirrors }, [
      "https://m1.example.com v2 mirror",
      "http://m2.example.com:5000 v2 mirror",
      "https://registry-1.docker.io v2",
    ]],
    // index.docker.io is Docker Hub too; Hub never gets v1 or http endpoints, even if listed insecure.
    ["index.docker.io", { mirrors, legacyRegistry: true, insecureRegistries: ["docker.io"] }, [
      "https://m1.example.com v2 mirror",
      "http://m2.example.com:5000 v2 mirror",
      "https://registry-1.docker.io v2",
    ]],
    // Duplicated mirrors are tried once (LoadMirrors keeps them unique).
    ["docker.io", { mirrors: ["https://m1.example.com", "https://m1.example.com/"] }, [
      "https://m1.example.com v2 mirror",
      "https://registry-1.docker.io v2",
    ]],
    // The test / air-gapped stand-in for Docker Hub.
    ["docker.io", { mirrors: ["http://127.0.0.1:1"], hubRegistry: "http://127.0.0.1:2" }, [
      "http://127.0.0.1:1 v2 mirror",
      "http://127.0.0.1:2 v2",
    ]],
    // Mirrors are for Docker Hub only.
    ["ghcr.io", { mirrors }, ["https://ghcr.io v2"]],
    ["ghcr.io", { legacyRegistry: true }, ["https://ghcr.io v2", "https://ghcr.io v1"]],
    ["10.0.0.5:5000", { insecureRegistries: ["10.0.0.0/8"] }, [
      "https://10.0.0.5:5000 v2",
      "http://10.0.0.5:5000 v2",
    ]],
    ["10.0.0.5:5000", { insecureRegistries: ["10.0.0.0/8"], legacyRegistry: true }, [
      "https://10.0.0.5:5000 v2",
      "http://10.0.0.5:5000 v2",
      "https://10.0.0.5:5000 v1",
      "http://10.0.0.5:5000 v1",
    ]],
    ["127.0.0.1:5000", {}, ["https://127.0.0.1:5000 v2", "http://127.0.0.1:5000 v2"]],
    // registry-1.docker.io written out is a plain host for v2 (no mirrors) and never gets v1 endpoints.
    ["registry-1.docker.io", { mirrors, legacyRegistry: true }, ["https://registry-1.docker.io v2"]],
  ];
  for (const [domain, config, want] of cases) assertEquals(urls(domain, config), want, domain);
});

Deno.test("lookupEndpoints() marks Docker Hub official and mirrors as mirrors", () => {
  const [mirror, hub] = lookupEndpoints("docker.io", { mirrors: ["https://m.example.com"] });
  assertEquals([mirror.mirror, mirror.official, hub.mirror, hub.official], [true, false, false, true]);
  assertEquals(lookupEndpoints("quay.io")[0].official, false);
});

Deno.test("normalizeMirror() accepts http(s) URLs without a path, as Docker's ValidateMirror", () => {
  assertEquals(normalizeMirror("https://mirror.example.com/"), "https://mirror.example.com");
  assertEquals(normalizeMirror("http://10.0.0.1:5000"), "http://10.0.0.1:5000");
  for (
    const bad of [
      "mirror.example.com",
      "ftp://m.example.com",
      "https://m.example.com/v2",
      "https://u:p@m.example.com",
      "https://m.example.com/?q=1",
      "https://m.example.com/#x",
    ]
  ) {
    assertThrows(() => normalizeMirror(bad), TypeError);
  }
  assertThrows(() => lookupEndpoints("docker.io", { mirrors: ["mirror.example.com"] }), TypeError);
});

Deno.test("isInsecureRegistry() follows Docker's isSecureIndex: loopback always, docker.io never, host:port exact, CIDR", () => {
  const cases: Array<[string, string[], boolean]> = [
    ["127.0.0.1:5000", [], true],
    ["127.255.0.9", [], true],
    ["[::1]:5000", [], true],
    ["localhost:5000", [], true],
    ["docker.io", ["docker.io"], false],
    ["index.docker.io", ["index.docker.io", "0.0.0.0/0"], false],
    ["myhost:5000", ["myhost:5000"], true],
    // An entry names one index exactly: the port is part of it.
    ["myhost:5000", ["myhost"], false],
    ["myhost", ["myhost:5000"], false],
    ["myhost:5000", ["http://myhost:5000"], true],
    ["myhost:5000", ["https://myhost:5000"], true],
    ["10.1.2.3:5000", ["10.0.0.0/8"], true],
    ["11.1.2.3:5000", ["10.0.0.0/8"], false],
    ["192.168.1.7", ["192.168.1.0/24"], true],
    ["[fd00::7]:5000", ["fd00::/8"], true],
    ["[fe80::7]:5000", ["fd00::/8"], false],
    // Without DNS, ranges cover IP addresses only.
    ["registry.lan:5000", ["10.0.0.0/8"], false],
    ["registry.example.com", [], false],
    ["128.0.0.1", [], false],
  ];
  for (const [domain, list, want] of cases) {
    assertEquals(isInsecureRegistry(domain, list), want, `${domain} with [${list.join(", ")}]`);
  }
});

Deno.test("isInsecureRegistry() refuses malformed entries as Docker's LoadInsecureRegistries", () => {
  for (const bad of ["ftp://myhost", "-myhost", "myhost-", "10.0.0.0/33", "not-an-ip/8", ""]) {
    assertThrows(() => isInsecureRegistry("example.com", [bad]), TypeError);
  }
});
