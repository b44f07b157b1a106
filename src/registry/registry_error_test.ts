import { assertEquals } from "../../test/_assert.ts";
import { registryError } from "./registry_error.ts";

const context = {
  action: "fetch manifest",
  target: "127.0.0.1:5000/small:v1",
  notFound: "MANIFEST_UNKNOWN" as const,
};

Deno.test("registryError() takes the registry's code, message and detail", async () => {
  const errors = [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "v1" } }];
  const err = await registryError(Response.json({ errors }, { status: 404 }), context);
  assertEquals(err.code, "MANIFEST_UNKNOWN");
  assertEquals(
    err.message,
    'Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned 404 MANIFEST_UNKNOWN (manifest unknown)',
  );
  assertEquals(err.detail, { status: 404, errors });
});

Deno.test("registryError() maps every code tug knows to itself", async () => {
  for (
    const code of ["BLOB_UNKNOWN", "NAME_UNKNOWN", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS"]
  ) {
    const err = await registryError(Response.json({ errors: [{ code }] }, { status: 400 }), context);
    assertEquals(err.code, code);
  }
});

Deno.test("registryError() maps an unknown registry code to UNKNOWN and keeps it in the message", async () => {
  const body = { errors: [{ code: "PAGINATION_NUMBER_INVALID", message: "bad n" }] };
  const err = await registryError(Response.json(body, { status: 400 }), context);
  assertEquals(err.code, "UNKNOWN");
  assertEquals(err.message.endsWith("registry returned 400 PAGINATION_NUMBER_INVALID (bad n)"), true);
});

Deno.test("registryError() lists several errors, the first one's code wins", async () => {
  const body = {
    errors: [{ code: "UNAUTHORIZED", message: "authentication required" }, { code: "DENIED", message: "no" }],
  };
  const err = await registryError(Response.json(body, { status: 401 }), context);
  assertEquals(err.code, "UNAUTHORIZED");
  assertEquals(
    err.message.endsWith("registry returned 401 UNAUTHORIZED (authentication required), DENIED (no)"),
    true,
  );
});

for (
  const [status, code] of [
    [401, "UNAUTHORIZED"],
    // Docker's HandleErrorResponse: a bare 403 or 429 is an UnexpectedHTTPResponseError, not DENIED.
    [403, "UNEXPECTED_STATUS"],
    [404, "MANIFEST_UNKNOWN"],
    [429, "UNEXPECTED_STATUS"],
    [500, "UNEXPECTED_STATUS"],
    [418, "UNEXPECTED_STATUS"],
  ] as const
) {
  Deno.test(`registryError() maps a bodiless ${status} to ${code}`, async () => {
    const err = await registryError(new Response(null, { status }), context);
    assertEquals(err.code, code);
    assertEquals(err.message, `Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned ${status}`);
    assertEquals(err.detail, { status, errors: [] });
  });
}

Deno.test("registryError() maps a bodiless 404 by endpoint (NAME_UNKNOWN by default)", async () => {
  const blob = await registryError(new Response(null, { status: 404 }), {
    action: "fetch blob",
    target: "x",
    notFound: "BLOB_UNKNOWN",
  });
  assertEquals(blob.code, "BLOB_UNKNOWN");
  const tags = await registryError(new Response(null, { status: 404 }), {
    action: "list tags of",
    target: "x",
  });
  assertEquals(tags.code, "NAME_UNKNOWN");
});

Deno.test("registryError() ignores bodies that are not the spec's shape", async () => {
  const html = await registryError(new Response("<html>Bad Gateway</html>", { status: 502 }), context);
  assertEquals(html.code, "UNEXPECTED_STATUS");
  const other = await registryError(Response.json({ message: "nope" }, { status: 403 }), context);
  assertEquals(other.code, "UNEXPECTED_STATUS");
  const weird = await registryError(
    Response.json({ errors: [{ message: "no code" }, 5] }, { status: 404 }),
    context,
  );
  assertEquals(weird.code, "MANIFEST_UNKNOWN");
});

Deno.test("registryError() reads at most 64 KiB of the body and cancels the rest", async () => {
  let pulled = 0;
  let cancelled = false;
  const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 100) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  const err = await registryError(new Response(body, { status: 500 }), context);
  assertEquals(err.code, "UNEXPECTED_STATUS");
  assertEquals(cancelled, true);
  assertEquals(pulled <= 6, true, `pulled ${pulled} chunks`);
});

Deno.test('registryError() takes DENIED from a 4xx\'s Bearer error="insufficient_scope", UNAUTHORIZED from invalid_token', async () => {
  const challenge = (error: string, status: number, body: BodyInit | null = null) =>
    new Response(body, {
      status,
      headers: { "www-authenticate": `Bearer realm="https://auth.example/token",error="${error}"` },
    });
  const scope = await registryError(challenge("insufficient_scope", 401), context);
  assertEquals(scope.code, "DENIED");
  assertEquals(
    scope.message,
    'Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned 401 DENIED (requested access to the resource is denied)',
  );
  assertEquals((await registryError(challenge("insufficient_scope", 403), context)).code, "DENIED");
  assertEquals((await registryError(challenge("invalid_token", 403), context)).code, "UNAUTHORIZED");
  // The challenge's error comes first; the body's entries follow it.
  const both = await registryError(
    challenge("insufficient_scope", 403, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN" }] })),
    context,
  );
  assertEquals(both.code, "DENIED");
  assertEquals((both.detail as { errors: unknown[] }).errors.length, 2);
  // Another error (or none) in the challenge says nothing.
  assertEquals((await registryError(challenge("other", 403), context)).code, "UNEXPECTED_STATUS");
});

Deno.test("registryError() reads Docker's old {details} body by status", async () => {
  const details = (status: number) => Response.json({ details: "go away" }, { status });
  assertEquals((await registryError(details(403), context)).code, "DENIED");
  assertEquals((await registryError(details(429), context)).code, "TOOMANYREQUESTS");
  assertEquals((await registryError(details(401), context)).code, "UNAUTHORIZED");
  assertEquals((await registryError(details(500), context)).code, "UNKNOWN");
});
