// This module is browser compatible.
// The ordered list of platforms a wanted platform can run, best first. Private to src/manifest/.
import type { Platform } from "./types.ts";

/** os/architecture/variant of a normalized platform, the part matching compares. */
export interface PlatformKey {
  os: string;
  architecture: string;
  variant: string;
}

/** The comparable key of a normalized platform. */
export function platformKey(p: Platform): PlatformKey {
  return { os: p.os, architecture: p.architecture, variant: p.variant ?? "" };
}

/** Whether two keys name the same platform. */
export function sameKey(a: PlatformKey, b: PlatformKey): boolean {
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant;
}

/**
 * The platforms a normalized `wanted` platform can run, most preferred first, following containerd's
 * `platforms.Only` (which Docker's puller uses to pick from a manifest list):
 * - amd64/vN → amd64/vN … amd64/v2, amd64 (v1), then 386;
 * - arm/vN → arm/vN … arm/v5;
 * - arm64/v9.x → arm64/v9.x … v9, then v8.(x+5, at most 9) … v8; arm64/v8.x → v8.x … v8;
 *   every arm64 then falls back to 32-bit arm/v8 … arm/v5;
 * - anything else → itself only.
 */
export function platformVector(wanted: Platform): PlatformKey[] {
  const self = platformKey(wanted);
  const { os } = self;
  const vector: PlatformKey[] = [self];
  const add = (architecture: string, variant: string) => vector.push({ os, architecture, variant });
  switch (self.architecture) {
    case "amd64": {
      const m = /^v(\d+)$/.exec(self.variant);
      if (m) { for (let v = Number(m[1]) - 1; v >= 2; v--) add("amd64", `v${v}`); }
      if (self.variant !== "") add("amd64", "");
      add("386", "");
      break;
    }
    case "arm": {
      const m = /^v(\d+)$/.exec(self.variant);
      if (m) { for (let v = Math.min(Number(m[1]), 8) - 1; v >= 5; v--) add("arm", `v${v}`); }
      break;
    }
    case "arm64": {
      const m = /^v(\d+)(?:\.(\d+))?$/.exec(self.variant);
      if (!m) break;
      let major = Number(m[1]);
      let minor = m[2] === undefined ? 0 : Number(m[2]);
      if (major !== 8 && major !== 9) break;
      const arm64 = (maj: number, min: number) => add("arm64", min === 0 ? `v${maj}` : `v${maj}.${min}`);
      if (major === 9) {
        for (let v = minor - 1; v >= 0; v--) arm64(9, v);
        // v9.0 branched from v8.5: v9.x runs what v8.(x+5) runs, up to v8.9.
        major = 8;
        minor = Math.min(minor + 5, 9);
        arm64(8, minor);
      }
      for (let v = minor - 1; v >= 0; v--) arm64(major, v);
      for (let v = 8; v >= 5; v--) add("arm", `v${v}`);
      break;
    }
  }
  return vector;
}
