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

/** The key of a caller (credentials hash, `operator` or `anonymous`) and of a repository (`refHost/repo`). */
export interface ReadScope {
  /** Who asks: a key naming the credentials sent upstream, never the credentials themselves. */
  readonly caller: string;
  /** Where: the upstream and the repository, e.g. `registry-1.docker.io/library/alpine`. */
  readonly repository: string;
}

/** What {@linkcode AccessCache.authorize} decided: serve (maybe stale, the upstream being down), or the upstream's error. */
export type ReadDecision = { ok: true; stale: boolean } | { ok: false; error: unknown };

/**
 * Upstream confirmations, the ground of every answer served from the cache (issue H, finding 2). The one
 * rule: cached content D is served to caller C through repository R only when the upstream confirmed, for
 * C's credentials, that R holds D. A confirmation is made only by
 * - the upstream's own 2xx for C on `R/blobs/D` or `R/manifests/D` (HEAD or GET), or
 * - D being the config or a layer of a manifest, or a child manifest of an index, that the upstream served
 *   (or confirmed by digest) to C from R — {@linkcode confirmedChildren} — and nothing else: never
 *   `subject`, `blobs`, annotations, foreign layers (`urls`), nor another caller's confirmation.
 *
 * Lifetime: a confirmation serves without asking for `ttl` ms after the upstream answer that made it (the
 * upstream may revoke access or delete content meanwhile; the TTL bounds how long the proxy may lag). It
 * dies at once when the upstream refuses C in R (401/403, or 404 for a tag or the repository: the grant's
 * epoch ends), and for
 * every caller when the upstream answers 404 for R's D (distribution GHSA-f2g3-hh2r-cwgc: a delete in one
 * repository must not be undone by a cached membership). Older confirmations of the same caller and epoch
 * still let the proxy serve while the upstream is down (stale serving, never to another caller).
 */
export class AccessCache {
  readonly #ttl: number;
  readonly #now: () => number;
  // Confirmations are ordered by a counter, not the clock: a revocation and a confirmation in the same
  // millisecond must still be told apart.
  #seq = 0;
  // caller + repository → the sequence number the current grant began at: confirmations made before it
  // belong to an earlier, revoked grant.
  readonly #grants = new BoundedMap<string, number>(100_000);
  readonly #confirmed = new BoundedMap<string, { at: number; seq: number }>(1_000_000);
  readonly #gone = new BoundedMap<string, number>(100_000);
  // Questions upstream in flight, by caller, repository and digest: concurrent requests of one caller for
  // one digest (a burst of clients behind one credential, or anonymous) share one HEAD.
  readonly #asking = new Map<string, Promise<Uint8Array | void>>();

  constructor(ttlMs: number, now: () => number) {
    this.#ttl = ttlMs;
    this.#now = now;
  }

  /** Records an upstream 2xx for the caller in the repository (any request: tags, manifests, blobs). */
  grant(scope: ReadScope): void {
    const key = `${scope.caller}\n${scope.repository}`;
    // set() refreshes the key's place in the bounded map; the epoch stays until a revocation.
    this.#grants.set(key, this.#grants.get(key) ?? ++this.#seq);
  }

  /** The upstream refused the caller in the repository: the grant and every confirmation under it end. */
  revoke(scope: ReadScope): void {
    this.#grants.delete(`${scope.caller}\n${scope.repository}`);
  }

  /** The upstream answered 404 for the repository's `digest`: no caller's older confirmation of it counts. */
  gone(repository: string, digest: string): void {
    this.#gone.set(`${repository}\n${digest}`, ++this.#seq);
  }

  /** Records the upstream's own 2xx for the caller on the repository's blob or manifest `digest`. */
  confirm(scope: ReadScope, digest: string): void {
    this.grant(scope);
    this.#confirmed.set(`${scope.caller}\n${scope.repository}\n${digest}`, {
      at: this.#now(),
      seq: ++this.#seq,
    });
  }

  /**
   * Records a manifest or index the upstream served (or confirmed by digest) to the caller from the
   * repository: its digest, and the digests its typed fields make the repository hold.
   */
  confirmManifest(scope: ReadScope, digest: string, manifest: Uint8Array | object): void {
    this.confirm(scope, digest);
    for (const child of confirmedChildren(manifest)) this.confirm(scope, child);
  }

  /**
   * Whether the caller may be served `digest` through the repository without asking the upstream: a
   * confirmation younger than the TTL, under the caller's current grant, not gone since. With `stale` (the
   * upstream is down), any such confirmation of this caller counts, however old.
   */
  mayRead(scope: ReadScope, digest: string, stale = false): boolean {
    const epoch = this.#grants.get(`${scope.caller}\n${scope.repository}`);
    const confirmed = this.#confirmed.get(`${scope.caller}\n${scope.repository}\n${digest}`);
    if (epoch === undefined || confirmed === undefined || confirmed.seq <= epoch) return false;
    const gone = this.#gone.get(`${scope.repository}\n${digest}`);
    if (gone !== undefined && confirmed.seq <= gone) return false;
    return stale || this.#now() - confirmed.at < this.#ttl;
  }

  /**
   * The one decision "may this caller read `digest` through this repository", for every path that serves
   * cached content (blobs GET/HEAD/Range, manifests by digest and by tag, joined fills): served when
   * {@linkcode mayRead}; else `ask` (a HEAD of `R/blobs/D` or `R/manifests/D` upstream with the caller's
   * credentials) decides — its success confirms (served from the cache, never fetched again; a manifest's
   * cached bytes returned by `ask` confirm its typed children too, as the upstream vouched for them); an upstream
   * that is down lets a caller with an older confirmation be served stale; any other failure is returned
   * for the caller's answer. The caller of this function turns the error into a response and revokes.
   * Concurrent calls for the same caller, repository and digest share one `ask` (its answer holds for that
   * caller's credentials alike); each applies its own `isDown`.
   */
  async authorize(
    scope: ReadScope,
    digest: string,
    ask: () => Promise<Uint8Array | void>,
    isDown: (err: unknown) => boolean,
  ): Promise<ReadDecision> {
    if (this.mayRead(scope, digest)) return { ok: true, stale: false };
    const key = `${scope.caller}\n${scope.repository}\n${digest}`;
    let asking = this.#asking.get(key);
    if (asking === undefined) {
      const started = ask();
      asking = started;
      this.#asking.set(key, started);
      const done = () => {
        if (this.#asking.get(key) === started) this.#asking.delete(key);
      };
      started.then(done, done);
    }
    let manifest: Uint8Array | void;
    try {
      manifest = await asking;
    } catch (error) {
      if (isDown(error) && this.mayRead(scope, digest, true)) return { ok: true, stale: true };
      return { ok: false, error };
    }
    if (manifest) this.confirmManifest(scope, digest, manifest);
    else this.confirm(scope, digest);
    return { ok: true, stale: false };
  }
}

// Layers a registry need not hold: Docker's foreign layers and OCI's non-distributable ones are fetched
// from their `urls`, and distribution accepts them without the blob (schema2/ocischema verifyManifest).
const FOREIGN = /(?:\.foreign\.|nondistributable)/;

/**
 * The digests a manifest or index makes its repository hold, by its typed fields only: `config` and
 * `layers` (OCI / Docker v2 image manifest), `manifests` (index / manifest list), `fsLayers[].blobSum`
 * (schema1). A registry refuses such a manifest when it does not hold them (distribution's verifyManifest);
 * it does not check `subject` (OCI 1.1 accepts a subject it does not hold), `blobs`, annotations, or
 * descriptors with `urls` (foreign / non-distributable layers), so those prove nothing and are skipped.
 */
export function confirmedChildren(manifest: Uint8Array | object): string[] {
  let json: unknown = manifest;
  if (manifest instanceof Uint8Array) {
    try {
      json = JSON.parse(new TextDecoder().decode(manifest));
    } catch {
      return [];
    }
  }
  const m = json as Record<string, unknown> | null;
  if (m === null || typeof m !== "object" || Array.isArray(m)) return [];
  const out: string[] = [];
  const take = (d: unknown) => {
    if (d === null || typeof d !== "object") return;
    const { digest, mediaType, urls } = d as { digest?: unknown; mediaType?: unknown; urls?: unknown };
    if (typeof digest !== "string") return;
    if (Array.isArray(urls) && urls.length > 0) return;
    if (typeof mediaType === "string" && FOREIGN.test(mediaType)) return;
    out.push(digest);
  };
  if (m.schemaVersion === 1) {
    if (Array.isArray(m.fsLayers)) {
      for (const l of m.fsLayers) {
        const sum = (l as { blobSum?: unknown } | null)?.blobSum;
        if (typeof sum === "string") out.push(sum);
      }
    }
    return out;
  }
  take(m.config);
  for (const key of ["layers", "manifests"]) {
    const list = m[key];
    if (Array.isArray(list)) list.forEach(take);
  }
  return out;
}
