import { assertEquals } from "../../test/_assert.ts";
import type { RetryInfo } from "../registry/retry_policy.ts";
import type { ProgressEvent } from "./events.ts";
import { retryEvent, retryingStatus, withRetryProgress } from "./_retry_progress.ts";

const HEX = "0123456789ab".padEnd(64, "c");

function info(path: string, delay: number): RetryInfo {
  return { request: new Request(`http://127.0.0.1:1${path}`), attempt: 1, delay, reason: "503" };
}

Deno.test("retryingStatus() words the wait as dockerd does, in whole seconds, never zero", () => {
  assertEquals(retryingStatus(250), "Retrying in 1 second");
  assertEquals(retryingStatus(1000), "Retrying in 1 second");
  assertEquals(retryingStatus(1001), "Retrying in 2 seconds");
  assertEquals(retryingStatus(7000), "Retrying in 7 seconds");
});

Deno.test("retryEvent() names the blob's short id and digest, and nothing for manifests or tokens", () => {
  assertEquals(retryEvent(info(`/v2/team/tool/blobs/sha256:${HEX}`, 3000)), {
    status: "Retrying in 3 seconds",
    id: "0123456789ab",
    digest: `sha256:${HEX}`,
  });
  assertEquals(retryEvent(info("/v2/team/tool/manifests/latest", 500)), undefined);
  assertEquals(retryEvent(info("/token", 500)), undefined);
  assertEquals(retryEvent(info("/v2/", 500)), undefined);
});

Deno.test("withRetryProgress() calls the caller's onRetry and then reports a layer retry to onProgress", () => {
  const order: string[] = [];
  const events: ProgressEvent[] = [];
  const options = withRetryProgress({
    retry: { attempts: 3, onRetry: (i: RetryInfo) => order.push(`onRetry ${i.reason}`) },
    onProgress: (e: ProgressEvent) => (order.push(`progress ${e.status}`), events.push(e)),
  });
  assertEquals(options.retry.attempts, 3);
  options.retry.onRetry!(info(`/v2/team/tool/blobs/sha256:${HEX}`, 900));
  options.retry.onRetry!(info("/v2/team/tool/manifests/latest", 900));
  assertEquals(order, ["onRetry 503", "progress Retrying in 1 second", "onRetry 503"]);
  assertEquals(events.map((e) => e.id), ["0123456789ab"]);
});

Deno.test("withRetryProgress() leaves options without onProgress as they are", () => {
  const options = { retry: { attempts: 2 } };
  assertEquals(withRetryProgress(options), options);
});
