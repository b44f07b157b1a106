import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../../src/errors.ts";
import { dockerCredentials } from "./docker_config.ts";

async function configDir(config: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tug-docker-config-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  return dir;
}

/** Writes `docker-credential-<name>` into `dir`: it logs the server URL it was asked for and answers. */
async function helper(dir: string, name: string, script: string): Promise<string> {
  const path = `${dir}/docker-credential-${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\nread url\necho "$url" >> "${dir}/asked.log"\n${script}\n`);
  await Deno.chmod(path, 0o755);
  return `${dir}/asked.log`;
}

const env = (dir: string) => ({
  PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
  HOME: "/nonexistent",
});

Deno.test("dockerCredentials() decodes base64 auth, keyed by host or by URL", async () => {
  const dir = await configDir({
    auths: {
      "127.0.0.1:5000": { auth: btoa("alice:pa:ss") },
      "https://registry.example:8443/v2/": { auth: btoa("bob:x") },
      "plain.example": { username: "carol", password: "y" },
    },
  });
  try {
    const provider = dockerCredentials({ configDir: dir });
    assertEquals(await provider("127.0.0.1:5000"), { username: "alice", password: "pa:ss" });
    assertEquals(await provider("registry.example:8443"), { username: "bob", password: "x" });
    assertEquals(await provider("plain.example"), { username: "carol", password: "y" });
    assertEquals(await provider("other.example"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() finds Docker Hub's entry for docker.io, index.docker.io and registry-1.docker.io", async () => {
  const dir = await configDir({
    auths: { "https://index.docker.io/v1/": { auth: btoa("hubuser:hubpass") } },
  });
  try {
    const provider = dockerCredentials({ configDir: dir });
    for (const host of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
      assertEquals(await provider(host), { username: "hubuser", password: "hubpass" });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() prefers identitytoken, and reads registrytoken", async () => {
  const dir = await configDir({
    auths: {
      "127.0.0.1:5000": { auth: btoa("alice:ignored"), identitytoken: "refresh-me" },
      "127.0.0.1:5001": { registrytoken: "bearer-me" },
    },
  });
  try {
    const provider = dockerCredentials({ configDir: dir });
    assertEquals(await provider("127.0.0.1:5000"), { identityToken: "refresh-me" });
    assertEquals(await provider("127.0.0.1:5001"), { registryToken: "bearer-me" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() reads $DOCKER_CONFIG, and a missing file means anonymous", async () => {
  const dir = await configDir({ auths: { "127.0.0.1:5000": { auth: btoa("alice:s") } } });
  try {
    assertEquals(await dockerCredentials({ env: { DOCKER_CONFIG: dir } })("127.0.0.1:5000"), {
      username: "alice",
      password: "s",
    });
    assertEquals(await dockerCredentials({ env: { HOME: dir } })("127.0.0.1:5000"), undefined);
    assertEquals(await dockerCredentials({ configDir: `${dir}/missing` })("127.0.0.1:5000"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() rejects a broken config with AUTH_FAILED", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.json`, "{not json");
    await assertRejects(() => dockerCredentials({ configDir: dir })("x"), TugError, { code: "AUTH_FAILED" });
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ auths: { x: { auth: "%%%" } } }));
    await assertRejects(() => dockerCredentials({ configDir: dir })("x"), TugError, {
      code: "AUTH_FAILED",
      includes: "not base64",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() runs a credHelpers helper with the server URL on stdin", async () => {
  const dir = await configDir({
    credHelpers: { "127.0.0.1:5000": "tugtest", "https://index.docker.io/v1/": "tugtest" },
    auths: { "127.0.0.1:5000": { auth: btoa("file:user") } },
  });
  try {
    const log = await helper(
      dir,
      "tugtest",
      `echo '{"ServerURL":"'"$url"'","Username":"helper-user","Secret":"helper-secret"}'`,
    );
    const provider = dockerCredentials({ configDir: dir, env: env(dir) });
    assertEquals(await provider("127.0.0.1:5000"), { username: "helper-user", password: "helper-secret" });
    assertEquals(await provider("registry-1.docker.io"), {
      username: "helper-user",
      password: "helper-secret",
    });
    assertEquals((await Deno.readTextFile(log)).trim().split("\n"), [
      "127.0.0.1:5000",
      "https://index.docker.io/v1/",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() reads a helper's <token> username as an identity token", async () => {
  const dir = await configDir({ credsStore: "tugtest" });
  try {
    await helper(dir, "tugtest", `echo '{"ServerURL":"x","Username":"<token>","Secret":"refresh-me"}'`);
    assertEquals(await dockerCredentials({ configDir: dir, env: env(dir) })("127.0.0.1:5000"), {
      identityToken: "refresh-me",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() falls back to auths when the credsStore has nothing", async () => {
  const dir = await configDir({ credsStore: "tugtest", auths: { "127.0.0.1:5000": { auth: btoa("a:b") } } });
  try {
    await helper(dir, "tugtest", `echo "credentials not found in native keychain"; exit 1`);
    const provider = dockerCredentials({ configDir: dir, env: env(dir) });
    assertEquals(await provider("127.0.0.1:5000"), { username: "a", password: "b" });
    assertEquals(await provider("127.0.0.1:5001"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() rejects with AUTH_FAILED when a helper fails or is missing", async () => {
  const dir = await configDir({ credHelpers: { "a.example": "tugtest", "b.example": "tugmissing" } });
  try {
    await helper(dir, "tugtest", `echo "keychain locked" >&2; exit 3`);
    const provider = dockerCredentials({ configDir: dir, env: env(dir) });
    await assertRejects(() => provider("a.example"), TugError, {
      code: "AUTH_FAILED",
      includes:
        'Cannot get credentials for "a.example" from docker-credential-tugtest: exited with 3: keychain locked',
    });
    await assertRejects(() => provider("b.example"), TugError, {
      code: "AUTH_FAILED",
      includes: "docker-credential-tugmissing",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dockerCredentials() gives up on a helper that hangs", async () => {
  const dir = await configDir({ credHelpers: { "a.example": "tugtest" } });
  try {
    await helper(dir, "tugtest", `exec sleep 30`);
    await assertRejects(
      () => dockerCredentials({ configDir: dir, env: env(dir), helperTimeoutMs: 300 })("a.example"),
      TugError,
      { code: "AUTH_FAILED", includes: "no answer within 300 ms" },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
