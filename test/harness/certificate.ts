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

/** A certificate authority made by {@linkcode createCertificateAuthority}. */
export interface CertificateAuthority extends Certificate {
  /** The folder its files and the certificates it issues live in. */
  dir: string;
}

async function openssl(args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error("openssl not found: install the Debian package openssl", { cause: error });
  }
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/**
 * Creates a CA (RSA-2048, self-signed, `CA:TRUE`, valid 7 days) in `dir`, to issue server and client
 * certificates with {@linkcode issueCertificate}, as a private registry's CA does.
 *
 * @example
 * ```ts ignore
 * const ca = await createCertificateAuthority(await Deno.makeTempDir(), { commonName: "tug test CA" });
 * ```
 */
export async function createCertificateAuthority(
  dir: string,
  options: { commonName?: string; name?: string } = {},
): Promise<CertificateAuthority> {
  const name = options.name ?? "ca";
  const certificatePath = `${dir}/${name}.pem`;
  const keyPath = `${dir}/${name}-key.pem`;
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "7",
    "-subj",
    `/CN=${options.commonName ?? "tug test CA"}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    keyPath,
    "-out",
    certificatePath,
  ]);
  return {
    dir,
    certificatePath,
    keyPath,
    certificatePem: await Deno.readTextFile(certificatePath),
    keyPem: await Deno.readTextFile(keyPath),
  };
}

/**
 * Issues a certificate signed by `ca`: a server certificate for 127.0.0.1 and localhost (its file holds
 * the certificate followed by the CA's, a full chain), or a client certificate (`extendedKeyUsage=clientAuth`).
 *
 * @example
 * ```ts ignore
 * const server = await issueCertificate(ca, { name: "server", usage: "server" });
 * ```
 */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: { name: string; usage: "server" | "client"; commonName?: string },
): Promise<Certificate> {
  const base = `${ca.dir}/${options.name}`;
  const keyPath = `${base}-key.pem`;
  const certificatePath = `${base}.pem`;
  const extPath = `${base}.ext`;
  await Deno.writeTextFile(
    extPath,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${options.usage === "server" ? "serverAuth" : "clientAuth"}`,
      ...(options.usage === "server" ? ["subjectAltName=IP:127.0.0.1,DNS:localhost"] : []),
    ].join("\n") + "\n",
  );
  await openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${options.commonName ?? `tug test ${options.usage}`}`,
    "-keyout",
    keyPath,
    "-out",
    `${base}.csr`,
  ]);
  await openssl([
    "x509",
    "-req",
    "-sha256",
    "-days",
    "7",
    "-in",
    `${base}.csr`,
    "-CA",
    ca.certificatePath,
    "-CAkey",
    ca.keyPath,
    "-CAcreateserial",
    "-extfile",
    extPath,
    "-out",
    certificatePath,
  ]);
  const leaf = await Deno.readTextFile(certificatePath);
  if (options.usage === "server") await Deno.writeTextFile(certificatePath, leaf + ca.certificatePem);
  return {
    certificatePath,
    keyPath,
    certificatePem: await Deno.readTextFile(certificatePath),
    keyPem: await Deno.readTextFile(keyPath),
  };
}
