// Registries serving TLS with certificates from a private CA (made here with openssl), as Docker reaches
// them (moby registry/registry.go newTLSConfig): an insecure registry (loopback always) over https without
// verifying its certificate, before any plain http; client certificates and CAs from certs.d/HOST/.
// The registry is the real docker-registry serving the shared registry's storage over TLS; `tug pull` runs
// as a real process on Deno and, built with esbuild, on Node.
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  createCertificateAuthority,
  issueCertificate,
  type RegistryProcess,
  sharedRegistry,
  startRegistry,
} from "./harness/mod.ts";
import { openStore, runTug, tempDir } from "./_cli.ts";
import { createRegistryTlsFetch } from "../adapters/fs/registry_tls.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { pull } from "../src/pull/pull.ts";
import type { PullAttempt } from "../src/pull/types.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface TlsRig extends AsyncDisposable {
  dir: string;
  registry: RegistryProcess;
  ca: { certificatePem: string };
  client: { certificatePem: string; keyPem: string };
}

/** A CA, a server certificate for 127.0.0.1 from it, and a registry serving the shared storage with it. */
async function tlsRegistry(options: { requireClientCertificate?: boolean } = {}): Promise<TlsRig> {
  const { registry: shared } = await sharedRegistry();
  const dir = await Deno.makeTempDir({ prefix: "tug-tls-" });
  try {
    const ca = await createCertificateAuthority(dir);
    const server = await issueCertificate(ca, { name: "server", usage: "server" });
    const client = await issueCertificate(ca, { name: "client", usage: "client" });
    const registry = await startRegistry({
      storageDir: shared.storageDir,
      tls: {
        certificate: server.certificatePath,
        key: server.keyPath,
        ...(options.requireClientCertificate
          ? {
            clientCas: [ca.certificatePath],
            client: { certificate: client.certificatePath, key: client.keyPath },
          }
          : {}),
      },
    });
    return {
      dir,
      registry,
      ca,
      client,
      [Symbol.asyncDispose]: async () => {
        await registry[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}

/** Writes `files` into the tug config folder's certs.d/HOST and returns the env that points tug there. */
async function certsD(configHome: string, host: string, files: Record<string, string>) {
  const dir = `${configHome}/tug/certs.d/${host}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  return { XDG_CONFIG_HOME: configHome, TUG_CONFIG: `${configHome}/tug/config.json` };
}

/** Builds the Node bundle into `dir` (as `deno task build:node` does). */
async function buildBundle(dir: string): Promise<string> {
  const bundle = `${dir}/tug.mjs`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}adapters/cli/build_node.ts`, bundle],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return bundle;
}

const outline = (attempts: PullAttempt[]) => attempts.map((a) => `${a.endpoint} v${a.version}: ${a.outcome}`);

for (const runtime of ["deno", "node"] as const) {
  Deno.test(`tug pull (${runtime}) reaches a loopback registry over TLS without verifying its certificate, never over http`, async () => {
    const { images } = await sharedRegistry();
    await using rig = await tlsRegistry();
    await using tmp = await tempDir();
    const bundle = runtime === "node" ? await buildBundle(tmp.dir) : undefined;
    const reference = `${rig.registry.host}/tug/small:v1`;
    const run = await runTug(["pull", "--verbose", "--store", `${tmp.dir}/store`, reference], {
      runtime,
      ...(bundle ? { bundle } : {}),
    });
    assertEquals(run.code, 0, run.stderr);
    // Docker's InsecureSkipVerify: https answered, so http is never tried.
    assertStringIncludes(run.stderr, `attempt: https://${rig.registry.host} (v2): pulled`);
    assert(!run.stderr.includes("http://"), run.stderr);
    const store = await openStore(`${tmp.dir}/store`);
    assertEquals((await store.references.get(reference))?.digest, images.small.manifestDigest);
    // Every request the registry saw came over TLS and succeeded (none is Go's 400 for plain http).
    const log = await rig.registry.accessLog();
    assert(log.length > 0 && log.every((e) => e.status < 400), JSON.stringify(log));
  });

  Deno.test(`tug pull (${runtime}) presents the client certificate of certs.d/HOST to a registry that requires one`, async () => {
    const { images } = await sharedRegistry();
    await using rig = await tlsRegistry({ requireClientCertificate: true });
    await using tmp = await tempDir();
    const bundle = runtime === "node" ? await buildBundle(tmp.dir) : undefined;
    const reference = `${rig.registry.host}/tug/small:v1`;
    const how = { runtime, ...(bundle ? { bundle } : {}) };

    // Without a client certificate the TLS reason is in the message, not just "fetch failed".
    const refused = await runTug(["pull", "--verbose", "--store", `${tmp.dir}/store`, reference], {
      ...how,
      env: { XDG_CONFIG_HOME: `${tmp.dir}/none`, TUG_CONFIG: `${tmp.dir}/none/tug/config.json` },
    });
    assertEquals(refused.code, 1, refused.stderr);
    assertMatch(refused.stderr, /attempt: https:\/\/\S+ \(v2\): fallback: .*client certificate/);

    const env = await certsD(`${tmp.dir}/config`, rig.registry.host, {
      "client.cert": rig.client.certificatePem,
      "client.key": rig.client.keyPem,
    });
    const run = await runTug(["pull", "--verbose", "--store", `${tmp.dir}/store`, reference], {
      ...how,
      env,
    });
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(run.stderr, `attempt: https://${rig.registry.host} (v2): pulled`);
    const store = await openStore(`${tmp.dir}/store`);
    assertEquals((await store.references.get(reference))?.digest, images.small.manifestDigest);
  });
}

Deno.test("createRegistryTlsFetch() verifies a secure host with the ca.crt of its certs.d folder, and names an unknown CA", async () => {
  const { images } = await sharedRegistry();
  await using rig = await tlsRegistry();
  const certs = `${rig.dir}/certs.d`;
  const secure = { certsDirs: [certs], isInsecure: () => false };
  const reference = `${rig.registry.host}/tug/small:v1`;

  {
    using fetch = createRegistryTlsFetch(secure);
    const err = await assertRejects(() => pull(reference, { store: new MemoryStore(), fetch }));
    const attempts = (err as unknown as { attempts: PullAttempt[] }).attempts;
    assertEquals(attempts[0].endpoint, `https://${rig.registry.host}`);
    assertStringIncludes(attempts[0].reason, "certificate signed by unknown authority");
  }

  await Deno.mkdir(`${certs}/${rig.registry.host}`, { recursive: true });
  await Deno.writeTextFile(`${certs}/${rig.registry.host}/ca.crt`, rig.ca.certificatePem);
  using fetch = createRegistryTlsFetch(secure);
  const ok = await pull(reference, { store: new MemoryStore(), fetch });
  assertEquals(ok.digest, images.small.manifestDigest);
  assertEquals(outline(ok.attempts), [`https://${rig.registry.host} v2: pulled`]);
});
