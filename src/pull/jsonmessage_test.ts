import { assertEquals } from "../../test/_assert.ts";
import {
  digestEvent,
  errorEvent,
  layerEvent,
  messageEvent,
  pullingFromEvent,
  retryEvent,
  statusEvent,
  updateEvent,
} from "./events.ts";
import { jsonMessageLine, toJsonMessage } from "./jsonmessage.ts";

const ID = "a1b2c3d4e5f6";

Deno.test("jsonMessageLine() writes each kind of event as Docker Engine's /images/create stream does", () => {
  const lines = [
    pullingFromEvent("3.20", "library/alpine"),
    layerEvent(ID, "Pulling fs layer"),
    layerEvent(ID, "Downloading", { current: 1_234, total: 5_678 }),
    retryEvent(ID, 5),
    retryEvent(ID, 1),
    layerEvent(ID, "Pull complete", { digest: `sha256:${ID}` }),
    updateEvent(ID, "Pulling metadata"),
    digestEvent("sha256:0123"),
    statusEvent("Downloaded newer image for alpine:3.20"),
    messageEvent("Using default tag: latest"),
    errorEvent(new Error("manifest for alpine:nope not found: manifest unknown")),
  ].map((e) => jsonMessageLine(e));
  assertEquals(lines, [
    '{"status":"Pulling from library/alpine","id":"3.20"}\r\n',
    `{"status":"Pulling fs layer","progressDetail":{},"id":"${ID}"}\r\n`,
    `{"status":"Downloading","progressDetail":{"current":1234,"total":5678},"progress":"[${
      "=".repeat(10)
    }\\u003e${" ".repeat(40)}]  1.234kB/5.678kB","id":"${ID}"}\r\n`,
    `{"status":"Retrying in 5 seconds","progressDetail":{},"id":"${ID}"}\r\n`,
    `{"status":"Retrying in 1 second","progressDetail":{},"id":"${ID}"}\r\n`,
    `{"status":"Pull complete","progressDetail":{},"id":"${ID}"}\r\n`,
    `{"status":"Pulling metadata","progressDetail":{},"id":"${ID}"}\r\n`,
    '{"status":"Digest: sha256:0123"}\r\n',
    '{"status":"Status: Downloaded newer image for alpine:3.20"}\r\n',
    '{"status":"Using default tag: latest"}\r\n',
    '{"errorDetail":{"message":"manifest for alpine:nope not found: manifest unknown"},"error":"manifest for alpine:nope not found: manifest unknown"}\r\n',
  ]);
});

Deno.test("toJsonMessage() leaves zero counts out, as Go's omitempty, and escapes as Go's encoding/json", () => {
  assertEquals(toJsonMessage(layerEvent(ID, "Downloading", { current: 0, total: 10 })), {
    status: "Downloading",
    progressDetail: { total: 10 },
    progress: "[>                                                  ]       0B/10B",
    id: ID,
  });
  assertEquals(
    jsonMessageLine(messageEvent("a <b> & c"), "\n"),
    '{"status":"a \\u003cb\\u003e \\u0026 c"}\n',
  );
});
