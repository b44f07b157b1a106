/**
 * Installs what tug's test suite needs from Debian when it is missing (as root), or says exactly what to
 * install. Run by `deno task test` before the tests: a missing tool fails the run, it is never skipped.
 *
 * @module
 */

/** Each tool the tests run, and the Debian package that ships it. */
const TOOLS: Record<string, string> = {
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  htpasswd: "apache2-utils",
  umoci: "umoci",
  podman: "podman",
  zstd: "zstd",
  chromium: "chromium",
  openssl: "openssl",
  // A one-node Ceph cluster with radosgw (test/harness/radosgw.ts): the S3 server that honours conditional
  // writes. ceph-mon pulls in ceph-base (monmaptool); ceph-common ships the ceph CLI and radosgw-admin.
  "ceph-mon": "ceph-mon",
  "ceph-osd": "ceph-osd",
  radosgw: "radosgw",
  ceph: "ceph-common",
  "radosgw-admin": "ceph-common",
  monmaptool: "ceph-base",
  // docs/deploy.md's recipes (test/deploy_test.ts): a throw-away containerd and its `ctr` client, nginx as
  // the fleet's load balancer (started by the test on its own config), and curl.
  containerd: "containerd",
  ctr: "containerd",
  nginx: "nginx",
  "systemd-analyze": "systemd",
  curl: "curl",
};

async function has(tool: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed with exit code ${out.code}`);
}

const missing: string[] = [];
for (const [tool, pkg] of Object.entries(TOOLS)) {
  if (!(await has(tool)) && !missing.includes(pkg)) missing.push(pkg);
}
if (missing.length > 0) {
  const isRoot = Deno.uid?.() === 0;
  if (!isRoot) {
    console.error(
      `tug tests need these Debian packages: ${missing.join(" ")}\n` +
        `install them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    Deno.exit(1);
  }
  console.error(`Installing missing Debian packages for the tests: ${missing.join(" ")}`);
  await run("apt-get", ["update"]);
  await run("apt-get", ["install", "-y", "--no-install-recommends", ...missing]);
  for (const [tool, pkg] of Object.entries(TOOLS)) {
    if (!(await has(tool))) {
      console.error(`${tool} is still missing after installing ${pkg}`);
      Deno.exit(1);
    }
  }
}
