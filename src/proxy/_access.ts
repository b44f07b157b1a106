// This module is browser compatible.
/**
 * What the proxy learnt from upstreams about who may read what. Private to the proxy.
 *
 * @module
 */

/** A Map that forgets its oldest entries past `max` (insertion order; a `set` refreshes a key). */
export class BoundedMap<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}

/**
 * Upstream confirmations, the ground of every answer served from the cache:
 * - access: this credential may read this repository (a 2xx from upstream for it), fresh for `ttl` ms;
 *   remembered longer as "confirmed once", which is enough to serve stale content while the upstream is
 *   down;
 * - membership: this digest belongs to this repository upstream (the upstream served it under the
 *   repository, or it is referenced by a manifest the upstream served there). Blobs are immutable, so
 *   membership does not expire.
 */
export class AccessCache {
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #access = new BoundedMap<string, number>(100_000);
  readonly #member = new BoundedMap<string, true>(1_000_000);

  constructor(ttlMs: number, now: () => number) {
    this.#ttl = ttlMs;
    this.#now = now;
  }

  /** Records that `credential` may read `repository` (a key naming the upstream and the repository). */
  grant(credential: string, repository: string): void {
    this.#access.set(`${credential}\n${repository}`, this.#now());
  }

  /** Forgets a grant (the upstream refused it since). */
  revoke(credential: string, repository: string): void {
    this.#access.delete(`${credential}\n${repository}`);
  }

  /** Whether the grant is younger than the TTL. */
  fresh(credential: string, repository: string): boolean {
    const at = this.#access.get(`${credential}\n${repository}`);
    return at !== undefined && this.#now() - at < this.#ttl;
  }

  /** Whether a grant was ever recorded (and not revoked). */
  confirmedOnce(credential: string, repository: string): boolean {
    return this.#access.has(`${credential}\n${repository}`);
  }

  /** Records that `digest` belongs to `repository`. */
  addMember(repository: string, digest: string): void {
    this.#member.set(`${repository}\n${digest}`, true);
  }

  /** Whether `digest` is known to belong to `repository`. */
  isMember(repository: string, digest: string): boolean {
    return this.#member.has(`${repository}\n${digest}`);
  }
}

/** The digests a manifest or index references (config, layers, child manifests, schema1 layers). */
export function referencedDigests(bytes: Uint8Array): string[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return [];
  }
  const out: string[] = [];
  const take = (d: unknown) => {
    const digest = (d as { digest?: unknown; blobSum?: unknown } | null)?.digest ??
      (d as { blobSum?: unknown } | null)?.blobSum;
    if (typeof digest === "string") out.push(digest);
  };
  const m = json as Record<string, unknown> | null;
  if (m === null || typeof m !== "object") return out;
  if (m.config) take(m.config);
  for (const key of ["layers", "manifests", "fsLayers", "blobs"]) {
    const list = m[key];
    if (Array.isArray(list)) list.forEach(take);
  }
  if (m.subject) take(m.subject);
  return out;
}
