import { assertEquals } from "../../test/_assert.ts";
import { type Challenge, parseWwwAuthenticate } from "./parse_www_authenticate.ts";

const cases: [string, string | string[], Challenge[]][] = [
  [
    "Docker Hub's bearer challenge",
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
    [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io" } }],
  ],
  [
    "insufficient_scope with a space-separated scope list",
    'Bearer realm="https://r/token",service="r",scope="repository:a:pull repository:b:pull",error="insufficient_scope"',
    [{
      scheme: "bearer",
      params: {
        realm: "https://r/token",
        service: "r",
        scope: "repository:a:pull repository:b:pull",
        error: "insufficient_scope",
      },
    }],
  ],
  ["a Basic challenge", 'Basic realm="Registry Realm"', [{
    scheme: "basic",
    params: { realm: "Registry Realm" },
  }]],
  [
    "case-insensitive scheme and param names, values kept",
    'BEARER Realm="https://R/Token", SERVICE=Reg',
    [{ scheme: "bearer", params: { realm: "https://R/Token", service: "Reg" } }],
  ],
  [
    "two challenges in one header",
    'Bearer realm="https://a/token",service="a", Basic realm="b"',
    [
      { scheme: "bearer", params: { realm: "https://a/token", service: "a" } },
      { scheme: "basic", params: { realm: "b" } },
    ],
  ],
  [
    "challenges across headers",
    ['Basic realm="b"', 'Bearer realm="https://a/token"'],
    [{ scheme: "basic", params: { realm: "b" } }, { scheme: "bearer", params: { realm: "https://a/token" } }],
  ],
  [
    "a quoted value holding commas and an equals sign",
    'Bearer realm="https://a/token?x=1,2", service="a,b", Basic realm="c"',
    [
      { scheme: "bearer", params: { realm: "https://a/token?x=1,2", service: "a,b" } },
      { scheme: "basic", params: { realm: "c" } },
    ],
  ],
  [
    "escaped quotes and backslashes in a quoted value",
    String.raw`Basic realm="say \"hi\", \\ok"`,
    [{ scheme: "basic", params: { realm: 'say "hi", \\ok' } }],
  ],
  [
    "bare token values and whitespace around =",
    "Bearer realm = https://a/token , service=a.b-c",
    [{ scheme: "bearer", params: { realm: "https://a/token", service: "a.b-c" } }],
  ],
  [
    "a scheme with no params followed by another challenge",
    'Negotiate, Basic realm="x"',
    [{ scheme: "negotiate", params: {} }, { scheme: "basic", params: { realm: "x" } }],
  ],
  [
    "a token68 challenge",
    'NTLM abc+/def==, Basic realm="x"',
    [{ scheme: "ntlm", params: {}, token68: "abc+/def==" }, { scheme: "basic", params: { realm: "x" } }],
  ],
  [
    "empty list elements and a repeated param (first wins)",
    ' , ,Basic realm="a", realm="b",,',
    [{ scheme: "basic", params: { realm: "a" } }],
  ],
  ["an empty header", "", []],
  [
    "an unterminated quoted string ends at the end of the header",
    'Basic realm="open',
    [{ scheme: "basic", params: { realm: "open" } }],
  ],
];

for (const [name, header, expected] of cases) {
  Deno.test(`parseWwwAuthenticate() parses ${name}`, () => {
    assertEquals(parseWwwAuthenticate(header), expected);
  });
}

Deno.test("parseWwwAuthenticate() reads Headers.get()'s comma-joined value of several headers", () => {
  const headers = new Headers();
  headers.append("www-authenticate", 'Bearer realm="https://a/token",service="a"');
  headers.append("www-authenticate", 'Basic realm="b,c"');
  assertEquals(parseWwwAuthenticate(headers.get("www-authenticate")!), [
    { scheme: "bearer", params: { realm: "https://a/token", service: "a" } },
    { scheme: "basic", params: { realm: "b,c" } },
  ]);
});

Deno.test("parseWwwAuthenticate() skips garbage without looping forever", () => {
  const result = parseWwwAuthenticate('@@ ;; Basic realm="x" ((, ==');
  assertEquals(result.find((c) => c.scheme === "basic"), { scheme: "basic", params: { realm: "x" } });
});
