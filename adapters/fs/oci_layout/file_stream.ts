/**
 * A byte stream over a range of an open blob file. Internal to the OCI layout store.
 *
 * @module
 */

import { TugError } from "../../../src/errors.ts";
import type { BlobReadFile } from "../_blob_file.ts";
import { BUFFER, ioError } from "./paths.ts";

/**
 * Streams bytes [start, end) of an open file in reads of up to 1 MiB; closes the file at the end, on an
 * error and on cancel. A byte stream: a BYOB reader reads straight into its own buffer; a default reader gets
 * a fresh 1 MiB buffer per chunk (the consumer owns what it is given). One chunk is read ahead, so the disk
 * works while the consumer sends the previous one. `open` instead of a file: the file is opened on the first
 * read (and not at all for an empty range). `readAhead: false`: no read ahead, so a BYOB reader's buffer is
 * the only one ever filled.
 */
export function fileStream(
  open: BlobReadFile | (() => Promise<BlobReadFile>),
  start: number,
  end: number,
  path: string,
  options: { readAhead?: boolean } = {},
): ReadableStream<Uint8Array> {
  let position = start;
  let opened = typeof open === "function" ? undefined : open;
  const closed = { close: () => Promise.resolve() };
  // The file, or a no-op close before it was opened.
  const current = () => opened ?? closed;
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: BUFFER,
    async pull(controller) {
      try {
        if (position >= end) {
          await current().close().catch(() => {});
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest;
        const view = request?.view;
        // A read-ahead pull (no reader waiting) has no BYOB request: it fills a buffer of its own.
        const buffer = view
          ? new Uint8Array(view.buffer, view.byteOffset, Math.min(view.byteLength, end - position))
          : new Uint8Array(Math.min(BUFFER, end - position));
        opened ??= await (open as () => Promise<BlobReadFile>)();
        const bytesRead = await opened.read(buffer, position);
        if (bytesRead === 0) {
          throw new TugError(
            "STORE_CORRUPT",
            `Cannot read ${path}: the file ends at byte ${position}, before ${end}`,
          );
        }
        position += bytesRead;
        if (request) request.respond(bytesRead);
        else controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
        if (position >= end) {
          // Closed as soon as the last byte is read, not on the next pull.
          await current().close().catch(() => {});
          controller.close();
        }
      } catch (err) {
        await current().close().catch(() => {});
        controller.error(ioError(`Cannot read ${path}`, err));
      }
    },
    async cancel() {
      await current().close().catch(() => {});
    },
  }, { highWaterMark: options.readAhead === false ? 0 : BUFFER });
}
