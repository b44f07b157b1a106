import type { ProgressEvent } from "../../../src/pull/events.ts";

/**
 * Whether an event updates a layer's line (Docker's `progress.Update`) rather than being a message line
 * (Docker's `progress.Message`). Every event with an id is a layer update except "Pulling from …", which
 * Docker sends as a message with the tag as its id.
 */
export function isLayerEvent(event: ProgressEvent): event is ProgressEvent & { readonly id: string } {
  return event.id !== undefined && event.id !== "" && !event.status.startsWith("Pulling from ");
}

/** Whether an event carries byte counts (Downloading, Extracting), i.e. Docker would draw a bar for it. */
export function hasCounts(event: ProgressEvent): boolean {
  return (event.current ?? 0) > 0 || (event.total ?? 0) > 0;
}

/** A message line as Docker prints it: `id: status`, or the status alone. */
export function messageLine(event: ProgressEvent): string {
  return event.id ? `${event.id}: ${event.status}` : event.status;
}
