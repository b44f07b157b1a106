/**
 * Self-signed certificates for tests, made with the `openssl` CLI: the token server's signing certificate
 * (the registry's `rootcertbundle`) and TLS certificates for 127.0.0.1.
 *
 * @module
 */

/** A certificate and its private key, as files and as PEM text. */
export interface Certificate {
  /** Path of the PEM certificate. */
  certificatePath: string;
  /** Path of the PEM private key (PKCS#8). */
  keyPath: string;
  /** The certificate as PEM text. */
  certificatePem: string;
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`). */
  keyPem: string;
}

/**
 * Creates an RSA-2048 key and a self-signed certificate valid for 7 days in `dir`, named for 127.0.0.1
 * and localhost (so it also serves as a TLS server certificate).
 *
 * @example
 * ```ts ignore
 * const cert = await createCertificate(await Deno.makeTempDir(), { commonName: "tug-test" });
 * ```
 */
export async function createCertificate(
  dir: string,
  options: { commonName?: string; name?: string } = {},
): Promise<Certificate> {
  const name = options.name ?? "cert";
  const certificatePath = `${dir}/${name}.pem`;
  const keyPath = `${dir}/${name}-key.pem`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "7",
        "-subj",
        `/CN=${options.commonName ?? "tug-test"}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        // Not a CA: rustls (Deno's fetch) refuses a CA certificate as a server's own certificate, and Go
        // (the registry) trusts a self-signed leaf that is itself in the root pool.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-keyout",
        keyPath,
        "-out",
        certificatePath,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error("openssl not found: install the Debian package openssl", { cause: error });
  }
  if (!out.success) {
    throw new Error(`openssl req -x509 failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return {
    certificatePath,
    keyPath,
    certificatePem: await Deno.readTextFile(certificatePath),
    keyPem: await Deno.readTextFile(keyPath),
  };
}

/** The base64 body of the first PEM block of `label` (DER in base64, as JWT `x5c` wants it). */
export function pemBody(pem: string, label: string): string {
  const match = pem.match(new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`));
  if (!match) throw new SyntaxError(`No ${label} PEM block found`);
  return match[1].replace(/\s+/g, "");
}
