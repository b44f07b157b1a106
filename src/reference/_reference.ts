// This module is browser compatible.
/**
 * The one implementation of {@linkcode Reference}, shared by every function of `src/reference/`.
 *
 * @module
 */

import { TugError, type TugErrorCode } from "../errors.ts";
import type { Reference } from "./reference.ts";

/** Docker Hub's canonical domain (distribution/reference's defaultDomain). */
export const DOCKER_HUB_DOMAIN = "docker.io";
/** The namespace of Docker Hub's official images (officialRepoPrefix). */
export const OFFICIAL_PREFIX = "library/";

// Error messages quote the input; keep a hostile multi-megabyte string out of logs.
const QUOTE_LIMIT = 200;

/** Quotes `input` for an error message, cut short if it is long. */
export function quote(input: string): string {
  return JSON.stringify(input.length > QUOTE_LIMIT ? `${input.slice(0, QUOTE_LIMIT)}…` : input);
}

/** Cuts a part of the input short for an error message. */
export function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Throws a {@linkcode TugError} about `input`. */
export function refuse(code: TugErrorCode, input: string, reason: string, what = "reference"): never {
  throw new TugError(code, `Invalid ${what} ${quote(input)}: ${reason}`, { detail: { input } });
}

/** Throws a `TypeError` unless `value` is a string. */
export function requireString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string, got ${typeof value}`);
}

/**
 * Docker's familiar form of a repository name (familiarizeName): on Docker Hub the domain is dropped, and
 * so is `library/` when nothing nested follows it.
 */
function familiarizeName(domain: string | undefined, path: string): string {
  if (domain !== DOCKER_HUB_DOMAIN) return domain === undefined ? path : `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_PREFIX)) {
    const rest = path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes("/")) return rest;
  }
  return path;
}

class ParsedReference implements Reference {
  readonly domain: string | undefined;
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  readonly name: string;
  readonly familiarName: string;
  readonly familiar: string;

  constructor(domain: string | undefined, path: string, tag: string | undefined, digest: string | undefined) {
    this.domain = domain;
    this.path = path;
    this.tag = tag;
    this.digest = digest;
    this.name = domain === undefined ? path : `${domain}/${path}`;
    this.familiarName = familiarizeName(domain, path);
    this.familiar = this.familiarName + suffix(tag, digest);
    Object.freeze(this);
  }

  toString(): string {
    return this.name + suffix(this.tag, this.digest);
  }

  toJSON(): string {
    return this.toString();
  }
}

function suffix(tag: string | undefined, digest: string | undefined): string {
  return (tag === undefined ? "" : `:${tag}`) + (digest === undefined ? "" : `@${digest}`);
}

/** Builds a reference from parts already checked against the grammar; `""` means absent. */
export function makeReference(
  domain: string | undefined,
  path: string,
  tag: string | undefined,
  digest: string | undefined,
): Reference {
  return new ParsedReference(domain || undefined, path, tag || undefined, digest || undefined);
}
