import { assert, assertEquals } from "../../test/_assert.ts";
import { isPublicHost, nonPublicReason, parseIPv4, parseIPv6 } from "./address.ts";

/** The hostname the WHATWG URL parser makes of a URL's host, as the guard sees it. */
const hostOf = (host: string) => new URL(`http://${host}/`).hostname;

Deno.test("parseIPv4() reads every spelling inet_aton and the URL parser accept", () => {
  for (
    const [text, want] of [
      ["127.0.0.2", 0x7f000002],
      ["127.2", 0x7f000002],
      ["127.0.2", 0x7f000002],
      ["2130706434", 0x7f000002],
      ["0x7f000002", 0x7f000002],
      ["0177.0.0.02", 0x7f000002],
      ["0x7f.0.0.2", 0x7f000002],
      ["127.0.0.2.", 0x7f000002],
      ["0", 0],
    ] as const
  ) {
    assertEquals(parseIPv4(text), want, text);
  }
  for (const text of ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "4294967296", "a.b.c.d", "", "1..2"]) {
    assertEquals(parseIPv4(text), undefined, text);
  }
});

Deno.test("parseIPv6() reads compressed, full, bracketed and dotted-tail forms", () => {
  assertEquals(parseIPv6("::1"), 1n);
  assertEquals(parseIPv6("[::ffff:127.0.0.2]"), 0xffff7f000002n);
  assertEquals(parseIPv6("::ffff:7f00:2"), 0xffff7f000002n);
  assertEquals(parseIPv6("0:0:0:0:0:ffff:7f00:2"), 0xffff7f000002n);
  assertEquals(parseIPv6("fe80::1%eth0"), (0xfe80n << 112n) | 1n);
  for (
    const text of ["1:2:3:4:5:6:7:8:9", "1::2::3", "::ffff:127.0.0.256", "12345::", "1:2:3:4:5:6:7", "g::"]
  ) {
    assertEquals(parseIPv6(text), undefined, text);
  }
});

Deno.test("nonPublicReason() refuses every spelling of loopback, private and special addresses", () => {
  const refused = [
    // IPv4 loopback in the spellings the URL parser turns into dotted form
    "127.0.0.1",
    "127.0.0.2",
    "127.1",
    "2130706434",
    "0x7f000002",
    "0177.0.0.2",
    // IPv6 spellings of IPv4 loopback and private addresses
    "[::ffff:127.0.0.2]",
    "[::ffff:7f00:2]",
    "[0:0:0:0:0:ffff:7f00:2]",
    "[::127.0.0.2]",
    "[::7f00:2]",
    "[::ffff:0:7f00:2]",
    "[64:ff9b::7f00:2]",
    "[64:ff9b::10.0.0.1]",
    "[64:ff9b:1::1]",
    "[2002:7f00:2::]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffd]", // Teredo, client 127.0.0.2 inverted
    "[2001:0:7f00:2::1]", // Teredo, server 127.0.0.2
    // IPv6 special ranges
    "[::1]",
    "[::]",
    "[fe80::1]",
    "[febf::1]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[100::1]",
    "[2001:db8::1]",
    "[3fff::1]",
    "[2001:2::1]",
    "[5f00::1]",
    "[4000::1]",
    // IPv4 special ranges
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    // names for the local network
    "localhost",
    "foo.localhost",
    "localhost.",
    "printer.local",
    "metadata.google.internal",
    "router.home.arpa",
    "metadata",
  ];
  for (const host of refused) {
    const reason = nonPublicReason(hostOf(host));
    assert(reason !== undefined, `${host} (parsed ${hostOf(host)}) should be refused`);
    assert(!isPublicHost(hostOf(host)));
  }
  assert(nonPublicReason(hostOf("[::ffff:127.0.0.2]"))!.includes("127.0.0.2"));
  assert(nonPublicReason(hostOf("[2002:7f00:2::]"))!.includes("6to4"));
});

Deno.test("nonPublicReason() lets public names and addresses through, also when IPv6 embeds a public IPv4", () => {
  for (
    const host of [
      "registry-1.docker.io",
      "auth.docker.io",
      "x.azurecr.io",
      "8.8.8.8",
      "1.1.1.1",
      "100.63.255.255",
      "100.128.0.0",
      "172.15.255.255",
      "172.32.0.1",
      "192.169.0.1",
      "198.20.0.1",
      "223.255.255.255",
      "[2606:4700::1111]",
      "[2a00:1450:4001::200e]",
      "[::ffff:8.8.8.8]",
      "[64:ff9b::808:808]",
      "[2002:808:808::1]",
    ]
  ) {
    assertEquals(nonPublicReason(hostOf(host)), undefined, host);
  }
});
