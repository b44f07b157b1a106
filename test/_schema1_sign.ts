// Test helper: signs a schema 1 manifest the way libtrust's JSONSignature does ("pretty" form), with an
// EC P-256 key made by WebCrypto. Used to push signed schema 1 manifests to docker-registry, which verifies
// the signature on PUT, and to test the canonical-payload digest rule.

const encoder = new TextEncoder();

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh ES256 key pair and its public JWK (libtrust's fields: crv, kty, x, y). */
export async function generateSigningKey(): Promise<{ privateKey: CryptoKey; jwk: Record<string, string> }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const full = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { crv: "P-256", kty: "EC", x: full.x!, y: full.y! } };
}

/**
 * Signs `content` (indented JSON, as distribution marshals schema 1 with three spaces) and returns the
 * pretty-signed bytes: the content with a `signatures` key inserted before its closing brace. With several
 * keys, every signature carries the same formatLength/formatTail.
 */
export async function signSchema1(
  content: Uint8Array,
  keys: Array<{ privateKey: CryptoKey; jwk: Record<string, string> }>,
  options: { time?: string } = {},
): Promise<Uint8Array> {
  const text = new TextDecoder().decode(content);
  // libtrust NewJSONSignature: the last non-space byte must be "}", and the one before it not ",".
  const close = text.trimEnd().length - 1;
  if (text[close] !== "}") throw new Error("content must end with }");
  const formatLength = text.slice(0, close).trimEnd().length;
  const formatTail = encoder.encode(text.slice(formatLength));
  const indentMatch = /^\{\n([ \t]+)/.exec(text);
  const indent = indentMatch ? indentMatch[1] : "";
  const payload = base64Url(content);
  const signatures = [];
  for (const key of keys) {
    const protectedHeader = base64Url(encoder.encode(JSON.stringify({
      formatLength,
      formatTail: base64Url(formatTail),
      time: options.time ?? "2024-01-01T00:00:00Z",
    })));
    const signature = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        key.privateKey,
        encoder.encode(`${protectedHeader}.${payload}`),
      ),
    );
    signatures.push({
      header: { jwk: key.jwk, alg: "ES256" },
      signature: base64Url(signature),
      protected: protectedHeader,
    });
  }
  const head = new TextDecoder().decode(content.subarray(0, formatLength));
  const signed = indent
    ? `${head},\n${indent}"signatures": ${indentLines(JSON.stringify(signatures, null, indent), indent)}\n}`
    : `${head},"signatures":${JSON.stringify(signatures)}}`;
  return encoder.encode(signed);
}

// Go's MarshalIndent(v, prefix=indent, indent): every line after the first starts with the prefix.
function indentLines(json: string, prefix: string): string {
  return json.split("\n").map((line, i) => (i === 0 ? line : prefix + line)).join("\n");
}
