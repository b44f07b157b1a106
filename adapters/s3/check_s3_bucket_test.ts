// checkS3Bucket() for the faults the S3 servers that run here cannot produce: AWS's answers to a request
// signed for the wrong region (radosgw and s3rver accept any region), and an endpoint that accepts the
// connection and never answers. The bodies are the ones AWS S3 documents and sends.
import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../../src/errors.ts";
import { checkS3Bucket } from "./check_s3_bucket.ts";

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

Deno.test("checkS3Bucket() names the bucket's region when S3 refuses the signing region (400 AuthorizationHeaderMalformed, 301 PermanentRedirect)", async () => {
  const answers = [
    new Response(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>1</RequestId></Error>`,
      { status: 400, headers: { "content-type": "application/xml" } },
    ),
    new Response(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>cache.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>cache</Bucket></Error>`,
      { status: 301, headers: { "content-type": "application/xml", "x-amz-bucket-region": "eu-west-1" } },
    ),
  ];
  for (const answer of answers) {
    const err = await assertRejects(
      () => checkS3Bucket({ bucket: "cache", credentials, fetch: () => Promise.resolve(answer.clone()) }),
      TugError,
    );
    assert(err.message.includes("region eu-west-1, not us-east-1"), err.message);
    assert(
      err.message.includes("region=eu-west-1") && err.message.includes("AWS_REGION=eu-west-1"),
      err.message,
    );
    assert(!err.message.includes(credentials.secretAccessKey), err.message);
  }
});

Deno.test("checkS3Bucket() gives up after timeoutMs on an endpoint that accepts and never answers", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    const started = performance.now();
    const err = await assertRejects(
      () =>
        checkS3Bucket({ bucket: "cache", endpoint: `http://127.0.0.1:${listener.addr.port}`, credentials }, {
          timeoutMs: 200,
        }),
      TugError,
    );
    assertEquals(err.code, "TIMEOUT");
    assert(err.message.includes("did not answer within 0.2 s"), err.message);
    assert(performance.now() - started < 5000, "the check is bounded by its timeout");
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});
