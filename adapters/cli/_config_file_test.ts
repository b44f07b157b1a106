import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { parseConfigFile, readConfigFile } from "./_config_file.ts";
import { UsageError } from "./_args.ts";

/** The message of the UsageError the config text raises. */
function mistake(text: string): string {
  return assertThrows(() => parseConfigFile(text, "/etc/tug.json"), UsageError).message;
}

Deno.test("parseConfigFile() reads daemon.json's registry keys under Docker's names", () => {
  const config = parseConfigFile(
    JSON.stringify({
      "registry-mirrors": ["https://mirror.example", "http://10.0.0.1:5000"],
      "insecure-registries": ["registry.lan:5000", "10.0.0.0/8"],
      "enable-legacy-registry": true,
      "max-concurrent-downloads": 6,
      "log-level": "debug",
    }),
    "/etc/tug.json",
  );
  assertEquals(config, {
    mirrors: ["https://mirror.example", "http://10.0.0.1:5000"],
    insecureRegistries: ["registry.lan:5000", "10.0.0.0/8"],
    legacyRegistry: true,
    maxConcurrentDownloads: 6,
  });
});

Deno.test("parseConfigFile() leaves keys the file does not set undefined", () => {
  assertEquals(parseConfigFile("{}", "/etc/tug.json"), {
    mirrors: undefined,
    insecureRegistries: undefined,
    legacyRegistry: undefined,
    maxConcurrentDownloads: undefined,
  });
});

Deno.test("parseConfigFile() refuses text that is not JSON, naming the file", () => {
  const message = mistake("{");
  assertEquals(message.startsWith("config file /etc/tug.json is not valid JSON: "), true, message);
});

Deno.test("parseConfigFile() refuses keys of the wrong type, naming the file and the key", () => {
  assertEquals(
    mistake(`{"registry-mirrors": "https://mirror.example"}`),
    `config file /etc/tug.json: "registry-mirrors" must be a list of strings`,
  );
  assertEquals(
    mistake(`{"insecure-registries": [5000]}`),
    `config file /etc/tug.json: "insecure-registries" must be a list of strings`,
  );
  assertEquals(
    mistake(`{"enable-legacy-registry": 1}`),
    `config file /etc/tug.json: "enable-legacy-registry" must be true or false`,
  );
  for (const n of ["0", "-1", "1.5", `"3"`]) {
    assertEquals(
      mistake(`{"max-concurrent-downloads": ${n}}`),
      `config file /etc/tug.json: "max-concurrent-downloads" must be a positive integer`,
    );
  }
});

Deno.test("parseConfigFile() checks mirrors and insecure ranges when loaded, as Docker's daemon does", () => {
  assertEquals(
    mistake(`{"registry-mirrors": ["ftp://mirror.example"]}`),
    `config file /etc/tug.json: Invalid registry mirror "ftp://mirror.example": the scheme must be http or https`,
  );
  assertEquals(
    mistake(`{"insecure-registries": ["1.2.3.4/99"]}`),
    `config file /etc/tug.json: Invalid insecure registry "1.2.3.4/99": not a valid CIDR range`,
  );
});

Deno.test("readConfigFile() sets nothing when the file is missing, and reads the file when it is there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-config-" });
  try {
    assertEquals(await readConfigFile(`${dir}/missing.json`), {});
    await Deno.writeTextFile(`${dir}/config.json`, `{"max-concurrent-downloads": 2}`);
    assertEquals((await readConfigFile(`${dir}/config.json`)).maxConcurrentDownloads, 2);
    await Deno.writeTextFile(`${dir}/bad.json`, `[`);
    const err = await readConfigFile(`${dir}/bad.json`).catch((e) => e);
    assertEquals(err instanceof UsageError, true);
    assertEquals((err as Error).message.startsWith(`config file ${dir}/bad.json is not valid JSON`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
