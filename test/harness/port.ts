/**
 * Ports for processes the tests must tell their port before they start (a config file, a docs recipe, a
 * daemon that cannot report the port it bound): `freePort()`.
 *
 * @module
 */

/** Where the kernel picks ports for connect() and bind(0) (Linux's default when it cannot be read). */
function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low <= high) return { low, high };
  } catch {
    // Not Linux, or no /proc: Linux's default.
  }
  return { low: 32768, high: 60999 };
}

/** Whether nobody listens on `port` of 127.0.0.1 right now. */
function bindable(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A port on 127.0.0.1 that nobody listens on, below the kernel's ephemeral range (10000 up to
 * `ip_local_port_range`'s first port, 22768–32767 by default), so that it stays free until the process it
 * is meant for binds it.
 *
 * A port from `bind(0)` comes from the ephemeral range, and is free only until the next connect() on the
 * machine takes it as its local port: any outgoing connection (a registry, radosgw's daemons, the poll that
 * waits for the server, which can even connect to itself when nothing listens there yet) may take it
 * between the test closing it and the server binding it, and the server then fails with "address already
 * in use". The kernel never hands out a port below the range on its own; only an explicit bind can take
 * one, and each candidate is checked with one. Prefer port 0 and reading the bound port back when the
 * process can report it (`tug serve --listen 127.0.0.1:0` prints its URL).
 *
 * @example
 * ```ts ignore
 * const port = freePort();
 * await Deno.writeTextFile("nginx.conf", `listen 127.0.0.1:${port};`);
 * ```
 */
export function freePort(): number {
  const { low } = ephemeralRange();
  const floor = 10_000;
  if (low - floor >= 1000) {
    // Bounded: 200 random candidates (fewer than one in a hundred of them is ever in use).
    for (let i = 0; i < 200; i++) {
      const port = floor + Math.floor(Math.random() * (low - floor));
      if (bindable(port)) return port;
    }
  }
  // No room below the range (an unusual ip_local_port_range): the kernel's pick, free until the next
  // connect() takes it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
