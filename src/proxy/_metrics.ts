// This module is browser compatible.
/**
 * The proxy's counters, rendered in the Prometheus text exposition format (version 0.0.4). Private to
 * the proxy.
 *
 * @module
 */

/** Counters of one proxy app (never module state: two apps in one process count apart). */
export class Metrics {
  requests = 0;
  cacheHits: Record<"manifest" | "blob", number> = { manifest: 0, blob: 0 };
  cacheMisses: Record<"manifest" | "blob", number> = { manifest: 0, blob: 0 };
  staleServed = 0;
  upstreamRequests = 0;
  upstreamBytes = 0;
  clientBytes = 0;
  /** Blob body bytes sent to clients (0 for a blob answered by a redirect to the object store). */
  clientBlobBytes = 0;
  /** Blob GETs answered with a 307 to the object store. */
  blobRedirects = 0;
  fillsInFlight = 0;
  fillsFailed = 0;
  /** The most bytes one fill has held in memory at once (its window, bounded whatever the blob's size). */
  fillHeldPeak = 0;
  refused = 0;
  /** Fills that found another process downloading the blob (its lease) and waited for its commit. */
  leaseWaits = 0;
  /** Downloads started by taking over a lease whose holder let it lapse (died mid-fill). */
  leaseTakeovers = 0;

  /** A pass-through stream that counts the bytes sent to a client. */
  countClientBytes(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        this.clientBytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
  }

  /** The Prometheus text format. */
  render(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, values: Array<[string, number]>, type = "counter") => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`);
    };
    counter("tug_proxy_requests_total", "Requests received.", [["", this.requests]]);
    counter("tug_proxy_cache_hits_total", "Manifests and blobs served from the cache.", [
      ['{kind="manifest"}', this.cacheHits.manifest],
      ['{kind="blob"}', this.cacheHits.blob],
    ]);
    counter("tug_proxy_cache_misses_total", "Manifests and blobs fetched from an upstream.", [
      ['{kind="manifest"}', this.cacheMisses.manifest],
      ['{kind="blob"}', this.cacheMisses.blob],
    ]);
    counter("tug_proxy_stale_served_total", "Cached tags served stale while the upstream was down.", [[
      "",
      this.staleServed,
    ]]);
    counter("tug_proxy_upstream_requests_total", "Requests sent to upstreams.", [[
      "",
      this.upstreamRequests,
    ]]);
    counter("tug_proxy_upstream_bytes_total", "Blob bytes received from upstreams.", [[
      "",
      this.upstreamBytes,
    ]]);
    counter(
      "tug_proxy_client_bytes_total",
      "Body bytes sent to clients (as announced by Content-Length where known).",
      [["", this.clientBytes]],
    );
    counter("tug_proxy_client_blob_bytes_total", "Blob body bytes sent to clients by the proxy itself.", [[
      "",
      this.clientBlobBytes,
    ]]);
    counter("tug_proxy_blob_redirects_total", "Blob GETs answered with a redirect to the object store.", [[
      "",
      this.blobRedirects,
    ]]);
    counter("tug_proxy_fills_in_flight", "Blob downloads from upstreams in progress.", [[
      "",
      this.fillsInFlight,
    ]], "gauge");
    counter("tug_proxy_fills_failed_total", "Blob downloads that failed verification or broke off.", [[
      "",
      this.fillsFailed,
    ]]);
    counter("tug_proxy_fill_held_bytes_peak", "The most blob bytes one fill has held in memory at once.", [[
      "",
      this.fillHeldPeak,
    ]], "gauge");
    counter("tug_proxy_refused_total", "Requests refused for an unconfigured upstream.", [[
      "",
      this.refused,
    ]]);
    counter(
      "tug_proxy_lease_waits_total",
      "Blob downloads left to another replica holding the lease, served from the committed blob.",
      [["", this.leaseWaits]],
    );
    counter(
      "tug_proxy_lease_takeovers_total",
      "Blob downloads started by taking over another replica's lapsed lease.",
      [["", this.leaseTakeovers]],
    );
    return lines.join("\n") + "\n";
  }
}
