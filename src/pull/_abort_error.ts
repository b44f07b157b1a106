// This module is browser compatible.
// The error a cancelled download reports, shared by the job table and the resumable download. Private to
// src/pull/.

import { TugError } from "../errors.ts";

/** The signal's reason when it is a TugError (e.g. a TIMEOUT), else `ABORTED: The pull was cancelled`. */
export function abortError(signal: AbortSignal): TugError {
  const reason = signal.reason;
  if (reason instanceof TugError) return reason;
  return new TugError("ABORTED", "The pull was cancelled", { cause: reason });
}
