import { assertEquals } from "../../test/_assert.ts";
import { labelUrl, specUrl, symlinkTarget } from "./links.ts";

Deno.test("specUrl() links OCI and Docker media types to their specification", () => {
  assertEquals(
    specUrl("application/vnd.docker.image.rootfs.diff.tar.gzip"),
    "https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md",
  );
  assertEquals(
    specUrl("application/vnd.oci.image.index.v1+json"),
    "https://github.com/opencontainers/image-spec/blob/main/image-index.md",
  );
  assertEquals(specUrl("application/octet-stream"), undefined);
});

Deno.test("labelUrl() links only http(s) addresses of the OCI address labels", () => {
  assertEquals(
    labelUrl("org.opencontainers.image.source", " https://example.com/x "),
    "https://example.com/x",
  );
  assertEquals(labelUrl("org.opencontainers.image.url", "http://example.com/"), "http://example.com/");
  assertEquals(labelUrl("org.opencontainers.image.source", "data:text/html,x"), undefined);
  assertEquals(labelUrl("org.opencontainers.image.title", "https://example.com/"), undefined);
  assertEquals(labelUrl("org.opencontainers.image.source", "not a url"), undefined);
});

Deno.test("symlinkTarget() resolves relative and absolute targets inside the image", () => {
  assertEquals(symlinkTarget("zstd/link", "hello.txt"), "zstd/hello.txt");
  assertEquals(symlinkTarget("usr/bin/x", "../lib/./y"), "usr/lib/y");
  assertEquals(symlinkTarget("x", "/"), "");
  assertEquals(symlinkTarget("a", "../../etc"), "etc");
});
