import { assertEquals } from "../../../test/_assert.ts";
import { QuietRenderer } from "./quiet_renderer.ts";
import { recorder } from "./_test_utils.ts";

Deno.test("QuietRenderer prints only the reference given at close, once", async () => {
  const out = recorder();
  const r = new QuietRenderer(out.write);
  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.20",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 5, total: 10 });
  r.onProgress({ type: "digest", status: "Digest: sha256:00", digest: "sha256:00" });
  await r.close("docker.io/library/alpine:3.20");
  await r.close("docker.io/library/alpine:3.20");
  assertEquals(out.writes, ["docker.io/library/alpine:3.20\n"]);
});

Deno.test("QuietRenderer prints nothing when closed without a reference (a failed pull)", async () => {
  const out = recorder();
  const r = new QuietRenderer(out.write);
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" });
  await r.close();
  assertEquals(out.writes, []);
});
