import { assertEquals } from "../../test/_assert.ts";
import { networkErrorReason } from "./network_error_reason.ts";

const failed = (cause: unknown) => new TypeError("fetch failed", { cause });
const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

Deno.test("networkErrorReason() spells out Node's and Deno's bare 'fetch failed' from its cause", () => {
  // Node (undici): the cause carries the errno code.
  assertEquals(
    networkErrorReason(failed(coded("connect ECONNREFUSED 127.0.0.1:5000", "ECONNREFUSED"))),
    "connection refused",
  );
  assertEquals(
    networkErrorReason(failed(coded("getaddrinfo ENOTFOUND nope.invalid", "ENOTFOUND"))),
    "no such host",
  );
  assertEquals(
    networkErrorReason(failed(coded("read ECONNRESET", "ECONNRESET"))),
    "connection reset by peer",
  );
  // Deno's Node-compatible fetch: the reason is in the cause's message only.
  assertEquals(
    networkErrorReason(
      failed(
        new Error(
          "error sending request for url (http://127.0.0.1:5000/v2/): client error (Connect): tcp connect error: Connection refused (os error 111)",
        ),
      ),
    ),
    "connection refused",
  );
  // A cause nobody names: its own words, not "fetch failed".
  assertEquals(networkErrorReason(failed(new Error("bad port"))), "bad port");
  assertEquals(networkErrorReason(failed(failed(new Error("deep reason")))), "deep reason");
});

Deno.test("networkErrorReason() keeps a message that already says why, and a bare one without a cause", () => {
  assertEquals(
    networkErrorReason(new TypeError("error sending request: connection refused")),
    "error sending request: connection refused",
  );
  assertEquals(networkErrorReason(new TypeError("fetch failed")), "fetch failed");
  assertEquals(networkErrorReason("plain"), "plain");
});
