/**
 * Runs every case of the distribution/reference conformance data (test/fixtures/reference-cases.json,
 * transcribed from the upstream Go tests) against tug's reference API, one test step per case.
 */

import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { checkDomainAndPort, matchName, matchReference } from "./_grammar.ts";
import { isImageId } from "./_parse.ts";
import { parseAnyReference } from "./parse_any_reference.ts";
import { parseDockerRef } from "./parse_docker_ref.ts";
import { parseReference } from "./parse_reference.ts";
import { parseRepositoryName } from "./parse_repository_name.ts";
import type { Reference } from "./reference.ts";
import { withDigest } from "./with_digest.ts";
import { withTag } from "./with_tag.ts";

interface Case {
  input: string;
  err: boolean;
  errKind?: string;
  fn: string;
  src: string;
  name?: string;
  domain?: string;
  path?: string;
  tag?: string;
  digest?: string;
  string?: string;
  familiar?: string;
  familiarFn?: "FamiliarName" | "FamiliarString";
  digestOnly?: boolean;
}

interface ComposeCase {
  name: string;
  nameFn?: string;
  tag?: string;
  digest?: string;
  err: boolean;
  combined?: string;
  fn: string;
  src: string;
}

interface RegexpCase {
  regexp: "domainAndPort" | "anchoredName" | "reference" | "anchoredIdentifier";
  input: string;
  match: boolean;
  subs?: string[];
  src: string;
}

interface Cases {
  counts: Record<string, number>;
  parse: Case[];
  normalize: Case[];
  withName: Case[];
  parseNamed: Case[];
  parseAny: Case[];
  compose: ComposeCase[];
  regexp: RegexpCase[];
}

const cases: Cases = JSON.parse(
  await Deno.readTextFile(new URL("../../test/fixtures/reference-cases.json", import.meta.url)),
);

/** The TugError code tug uses for each Go error the upstream tests compare against. */
const CODE_OF: Record<string, string> = {
  ErrNameEmpty: "NAME_EMPTY",
  ErrReferenceInvalidFormat: "REFERENCE_INVALID_FORMAT",
  ErrNameContainsUppercase: "NAME_CONTAINS_UPPERCASE",
  ErrNameTooLong: "NAME_TOO_LONG",
  ErrNameNotCanonical: "NAME_NOT_CANONICAL",
  "digest.ErrDigestUnsupported": "DIGEST_UNSUPPORTED",
  "digest.ErrDigestInvalidLength": "DIGEST_INVALID_FORMAT",
};

// The one deliberate difference: the upstream test binary registers no sha512 hash, tug supports sha512.
const SHA512_CASE = "validname@sha512:" + "f".repeat(128);

function label(input: string, src: string): string {
  const shown = input.length > 70 ? `${input.slice(0, 40)}…(${input.length} chars)` : input;
  return `${JSON.stringify(shown)} (${src})`;
}

/** Asserts that `fn` throws a TugError with the code upstream's error maps to (any code when none is named). */
function expectError(fn: () => unknown, errKind: string | undefined): void {
  const err = assertThrows(fn, TugError);
  if (errKind !== undefined) {
    const code = CODE_OF[errKind];
    assert(code !== undefined, `no code mapped for ${errKind}`);
    assertEquals(err.code, code, `error for ${errKind}: ${err.message}`);
  }
}

/** Checks every field the case asserts; `""` in the data means "absent". */
function expectFields(ref: Reference, c: Case): void {
  const absent = (v: string) => v === "" ? undefined : v;
  if (c.name !== undefined) assertEquals(ref.name, c.name, "name");
  if (c.domain !== undefined) assertEquals(ref.domain, absent(c.domain), "domain");
  if (c.path !== undefined) assertEquals(ref.path, c.path, "path");
  if (c.tag !== undefined) assertEquals(ref.tag, absent(c.tag), "tag");
  if (c.digest !== undefined) assertEquals(ref.digest, absent(c.digest), "digest");
  if (c.string !== undefined) assertEquals(ref.toString(), c.string, "string");
  if (c.familiar !== undefined) {
    const familiar = c.familiarFn === "FamiliarString" ? ref.familiar : ref.familiarName;
    assertEquals(familiar, c.familiar, c.familiarFn ?? "familiar");
  }
}

Deno.test("conformance data has every section at its stated size", () => {
  for (
    const section of [
      "parse",
      "normalize",
      "withName",
      "parseNamed",
      "parseAny",
      "compose",
      "regexp",
    ] as const
  ) {
    assertEquals(cases[section].length, cases.counts[section], section);
  }
});

Deno.test("parseReference({ normalize: false }) passes distribution's Parse cases", async (t) => {
  for (const c of cases.parse) {
    await t.step(`${c.fn}: ${label(c.input, c.src)}`, () => {
      if (c.input === SHA512_CASE) {
        // Expected to parse in tug (see the fixture README).
        const ref = parseReference(c.input, { normalize: false });
        assertEquals(ref.name, "validname");
        assertEquals(ref.digest, c.input.slice("validname@".length));
        assertEquals(ref.toString(), c.input);
        return;
      }
      if (c.err) {
        expectError(() => parseReference(c.input, { normalize: false }), c.errKind);
        return;
      }
      expectFields(parseReference(c.input, { normalize: false }), c);
      if (c.fn === "WithName") expectFields(parseRepositoryName(c.input), c);
    });
  }
});

Deno.test("parseReference() and parseDockerRef() pass Docker's normalization cases", async (t) => {
  for (const c of cases.normalize) {
    await t.step(`${c.fn}: ${label(c.input, c.src)}`, () => {
      const parse = c.fn === "ParseDockerRef" ? parseDockerRef : (s: string) => parseReference(s);
      if (c.err) {
        expectError(() => parse(c.input), c.errKind);
        return;
      }
      const ref = parse(c.input);
      assert(ref.domain !== undefined, "a normalized reference always has a domain");
      expectFields(ref, c);
    });
  }
});

Deno.test("parseRepositoryName() passes distribution's WithName failure cases", async (t) => {
  for (const c of cases.withName) {
    await t.step(`${c.fn}: ${label(c.input, c.src)}`, () => {
      assert(c.err, "the section only has failures");
      expectError(() => parseRepositoryName(c.input), c.errKind);
    });
  }
});

Deno.test("parseReference({ canonical: true }) passes distribution's ParseNamed cases", async (t) => {
  for (const c of cases.parseNamed) {
    await t.step(`${c.fn}: ${label(c.input, c.src)}`, () => {
      if (c.err) {
        expectError(() => parseReference(c.input, { canonical: true }), c.errKind);
        return;
      }
      expectFields(parseReference(c.input, { canonical: true }), c);
    });
  }
});

Deno.test("parseAnyReference() passes distribution's ParseAnyReference cases", async (t) => {
  for (const c of cases.parseAny) {
    await t.step(`${c.fn}: ${label(c.input, c.src)}`, () => {
      if (c.err) {
        expectError(() => parseAnyReference(c.input), c.errKind);
        return;
      }
      const ref = parseAnyReference(c.input);
      if (c.string !== undefined) assertEquals(ref.toString(), c.string, "string");
      if (c.digest !== undefined) assertEquals(ref.digest, c.digest, "digest");
      if (c.digestOnly !== undefined) assertEquals(ref.name === undefined, c.digestOnly, "digest only");
    });
  }
});

Deno.test("withTag() and withDigest() pass distribution's WithTag and WithDigest cases", async (t) => {
  for (const c of cases.compose) {
    const parts = [c.name, c.tag && `tag ${c.tag}`, c.digest && `digest ${c.digest}`].filter(Boolean).join(
      ", ",
    );
    await t.step(`${c.fn}: ${parts} (${c.src})`, () => {
      const named = c.nameFn === "ParseNormalizedNamed"
        ? parseReference(c.name)
        : parseRepositoryName(c.name);
      if (c.err) {
        if (c.fn === "WithTag") {
          expectError(() => withTag(named, c.tag!), undefined);
          assertThrows(() => withTag(named, c.tag!), TugError, { code: "TAG_INVALID_FORMAT" });
        } else {
          assertEquals(c.fn, "WithDigest");
          assertThrows(() => withDigest(named, c.digest!), TugError, { code: "DIGEST_INVALID_FORMAT" });
        }
        return;
      }
      let ref = named;
      if (c.fn === "WithName+WithDigest?+WithTag") {
        if (c.digest !== undefined) ref = withDigest(ref, c.digest);
        ref = withTag(ref, c.tag!);
      } else {
        assertEquals(c.fn, "WithName+WithTag?+WithDigest");
        if (c.tag !== undefined) ref = withTag(ref, c.tag);
        ref = withDigest(ref, c.digest!);
      }
      assertEquals(ref.toString(), c.combined);
      assertEquals(ref.name, named.name);
      assertEquals(ref.tag, c.tag);
      assertEquals(ref.digest, c.digest);
    });
  }
});

Deno.test("the grammar scanner matches distribution's regexp cases", async (t) => {
  for (const c of cases.regexp) {
    await t.step(`${c.regexp}: ${label(c.input, c.src)}`, () => {
      switch (c.regexp) {
        case "domainAndPort":
          assertEquals(checkDomainAndPort(c.input, 0, c.input.length) === undefined, c.match);
          break;
        case "anchoredName": {
          const m = matchName(c.input, 0, c.input.length);
          assertEquals(!("reason" in m), c.match);
          if (c.subs && !("reason" in m)) assertEquals([m.domain, m.path], c.subs);
          break;
        }
        case "reference": {
          const m = matchReference(c.input);
          assertEquals(!("reason" in m), c.match);
          if (c.subs && !("reason" in m)) {
            assertEquals([m.domain ? `${m.domain}/${m.path}` : m.path, m.tag, m.digest], c.subs);
          }
          break;
        }
        case "anchoredIdentifier":
          assertEquals(isImageId(c.input), c.match);
          break;
      }
    });
  }
});
