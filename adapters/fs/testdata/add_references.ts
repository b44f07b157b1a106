// Adds COUNT references named `<PREFIX>/image:<i>` to the OCI layout at DIR, one set() at a time: run twice
// at once by oci_layout_store_test.ts to show that index.json updates from two processes all land.
// Usage: deno run -A add_references.ts DIR PREFIX COUNT
import { OciLayoutStore } from "../oci_layout_store.ts";

const [dir, prefix, count] = Deno.args;
const store = await OciLayoutStore.open(dir);
for (let i = 0; i < Number(count); i++) {
  await store.references.set(`${prefix}/image:${i}`, {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${(i % 16).toString(16).repeat(64)}`,
    size: 100 + i,
  });
}
