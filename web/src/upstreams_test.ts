import { assertEquals } from "../../test/_assert.ts";
import { hasHost, isUpstreamsInfo, qualify } from "./upstreams.ts";

const local = { name: "local", host: "127.0.0.1:5000", registry: "127.0.0.1:5000", library: false };
const hub = { name: "docker.io", host: "registry-1.docker.io", registry: "docker.io", library: true };
const mirror = { name: "mirror", host: "mirror.test", registry: "mirror.test", library: true };

Deno.test("qualify() puts the proxy's default upstream in front of names without a host only", () => {
  const info = { default: "local", upstreams: [local, hub] };
  assertEquals(qualify("small:latest", info), "127.0.0.1:5000/small:latest");
  assertEquals(qualify(" tug/small@sha256:ab ", info), "127.0.0.1:5000/tug/small@sha256:ab");
  assertEquals(qualify("docker.io/alpine:3", info), "docker.io/alpine:3");
  assertEquals(qualify("localhost/x", info), "localhost/x");
  assertEquals(qualify("alpine:3", { default: "docker.io", upstreams: [hub] }), "docker.io/alpine:3");
  assertEquals(
    qualify("alpine:3", { default: "mirror", upstreams: [mirror] }),
    "mirror.test/library/alpine:3",
  );
  assertEquals(qualify("alpine:3", undefined), "alpine:3");
  assertEquals(qualify("alpine:3", { default: "gone", upstreams: [local] }), "alpine:3");
});

Deno.test("hasHost() follows Docker's splitDockerDomain rule", () => {
  assertEquals(["a", "a/b", "a.b/c", "a:1/b", "localhost/b", "LOCALHOST/b"].map(hasHost), [
    false,
    false,
    true,
    true,
    true,
    false,
  ]);
});

Deno.test("isUpstreamsInfo() accepts only the /upstreams shape", () => {
  assertEquals(isUpstreamsInfo({ default: "local", upstreams: [local] }), true);
  assertEquals(isUpstreamsInfo({ default: "local", upstreams: [{ name: "x" }] }), false);
  assertEquals(isUpstreamsInfo("nope"), false);
});
