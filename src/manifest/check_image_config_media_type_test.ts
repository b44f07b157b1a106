import { assertEquals, assertStringIncludes, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { checkImageConfigMediaType } from "./check_image_config_media_type.ts";
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_PLUGIN_CONFIG,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_EMPTY,
} from "./media_types.ts";

const config = (mediaType: string) => ({ mediaType, digest: `sha256:${"c".repeat(64)}`, size: 100 });

Deno.test("checkImageConfigMediaType() accepts Docker and OCI image configs and Docker's legacy types", () => {
  for (
    const mt of [
      MEDIA_TYPE_DOCKER_CONFIG,
      MEDIA_TYPE_OCI_CONFIG,
      "application/octet-stream",
      "application/json",
      "text/html",
      "",
    ]
  ) {
    assertEquals(checkImageConfigMediaType(config(mt)), undefined, mt);
  }
});

Deno.test("checkImageConfigMediaType() refuses a plugin config with TARGET_IS_PLUGIN", () => {
  const err = assertThrows(
    () => checkImageConfigMediaType(config(MEDIA_TYPE_DOCKER_PLUGIN_CONFIG)),
    TugError,
    {
      code: "TARGET_IS_PLUGIN",
      includes: "target is plugin",
    },
  );
  assertStringIncludes(err.message, MEDIA_TYPE_DOCKER_PLUGIN_CONFIG);
  assertEquals(err.detail, { mediaType: MEDIA_TYPE_DOCKER_PLUGIN_CONFIG });
});

Deno.test("checkImageConfigMediaType() refuses artifact configs with TARGET_IS_UNKNOWN", () => {
  for (
    const mt of [
      MEDIA_TYPE_OCI_EMPTY,
      "application/vnd.cncf.helm.config.v1+json",
      "application/vnd.dev.sigstore.bundle.v0.3+json",
      "application/vnd.oci.image.config.v1+json.extra",
    ]
  ) {
    const err = assertThrows(() => checkImageConfigMediaType(config(mt)), TugError, {
      code: "TARGET_IS_UNKNOWN",
      includes: "target is unknown",
    });
    assertStringIncludes(err.message, `"${mt}"`);
  }
});

Deno.test("checkImageConfigMediaType() says an AI model config is a model, not an image", () => {
  assertThrows(
    () => checkImageConfigMediaType(config("application/vnd.docker.ai.model.config.v0.1+json")),
    TugError,
    {
      code: "TARGET_IS_UNKNOWN",
      includes: "AI model",
    },
  );
});
