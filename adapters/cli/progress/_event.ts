import { isLineUpdate, type LayerEvent, type ProgressEvent } from "../../../src/pull/events.ts";

/** The events that update a layer's line (Docker's `progress.Update`), with their id. */
export type LineEvent = Extract<ProgressEvent, { readonly id: string; type: "layer" | "retry" | "update" }>;

/** Whether an event updates a layer's line (Docker's `progress.Update`) rather than being a line of its own. */
export function isLayerEvent(event: ProgressEvent): event is LineEvent {
  return isLineUpdate(event) && event.id !== "";
}

/** Whether an event carries byte counts (Downloading, Extracting), i.e. Docker would draw a bar for it. */
export function hasCounts(event: ProgressEvent): event is LayerEvent {
  return event.type === "layer" && ((event.current ?? 0) > 0 || (event.total ?? 0) > 0);
}

/** The byte counts of an event: those of a layer event, none for the others. */
export function countsOf(event: ProgressEvent): { current?: number; total?: number } {
  return event.type === "layer" ? event : {};
}

/** A message line as Docker prints it: `id: status`, or the status alone. */
export function messageLine(event: ProgressEvent): string {
  const id = "id" in event ? event.id : undefined;
  return id ? `${id}: ${event.status}` : event.status;
}
