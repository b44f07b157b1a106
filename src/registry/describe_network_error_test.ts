import { assertEquals } from "../../test/_assert.ts";
import { describeNetworkError } from "./describe_network_error.ts";

const failed = (cause: unknown) => new TypeError("fetch failed", { cause });
const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

Deno.test("describeNetworkError() names an untrusted certificate in Go's words, from Deno's and Node's errors", () => {
  const want = "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  // Deno (rustls through hyper).
  assertEquals(
    describeNetworkError(
      failed(
        new Error(
          "error sending request for url (https://127.0.0.1:5000/v2/): client error (Connect): " +
            "invalid peer certificate: UnknownIssuer",
        ),
      ),
    ),
    want,
  );
  // Node (OpenSSL through undici or node:https).
  assertEquals(
    describeNetworkError(
      failed(coded("unable to verify the first certificate", "UNABLE_TO_VERIFY_LEAF_SIGNATURE")),
    ),
    want,
  );
  assertEquals(
    describeNetworkError(failed(coded("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT"))),
    want,
  );
});

Deno.test("describeNetworkError() names a refused connection, a missing client certificate and http on an https port", () => {
  assertEquals(
    describeNetworkError(failed(new Error("tcp connect error: Connection refused (os error 111)"))),
    "connection refused",
  );
  assertEquals(
    describeNetworkError(failed(coded("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED"))),
    "connection refused",
  );
  assertEquals(
    describeNetworkError(
      failed(new Error("client error (Connect): received fatal alert: CertificateRequired")),
    ),
    "tls: the registry requires a client certificate (none was sent, or it was refused)",
  );
  assertEquals(
    describeNetworkError(
      failed(coded("ssl3_get_record:wrong version number", "ERR_SSL_WRONG_VERSION_NUMBER")),
    ),
    "http: server gave HTTP response to HTTPS client",
  );
});

Deno.test("describeNetworkError() falls back to the innermost message that says more than fetch failed", () => {
  assertEquals(describeNetworkError(failed(new Error("something odd"))), "something odd");
  assertEquals(describeNetworkError(new TypeError("fetch failed")), "fetch failed");
  assertEquals(describeNetworkError("plain"), "plain");
});
