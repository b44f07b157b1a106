/**
 * A small Docker token server (distribution docs "Token Authentication Specification" and "OAuth2 Token
 * Authentication") for tests: GET with optional Basic auth, `service`, `scope` (repeatable), `account`,
 * `offline_token`; POST form with `grant_type=password` or `grant_type=refresh_token`. Tokens are RS256
 * JWTs signed with WebCrypto. The header carries `x5c` (the self-signed certificate, which the registry
 * trusts through `rootcertbundle`) and `kid`, libtrust's key ID of the public key — distribution 2.8
 * (registry/auth/token/token.go, VerifySigningKey) tries `x5c` first and falls back to looking `kid` up among
 * the keys of the root certificates.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type Certificate, createCertificate, pemBody } from "./certificate.ts";
import { type RegistryOptions, type RegistryProcess, startRegistry } from "./registry.ts";

/** A parsed scope, `type:name:actions` (the name may itself hold colons, e.g. a port). */
export interface ParsedScope {
  /** Resource type, e.g. `repository`. */
  type: string;
  /** Resource name, e.g. `tug/small`. */
  name: string;
  /** Requested actions, e.g. `pull`, `push`. */
  actions: string[];
}

/** Options for {@linkcode startTokenServer}. */
export interface TokenServerOptions {
  /** The `service` (JWT `aud`) the registry expects; default `tug-test-registry`. */
  service?: string;
  /** The JWT `iss`; default `tug-test-issuer`. */
  issuer?: string;
  /** Users and passwords; wrong credentials get 401. */
  users?: Record<string, string>;
  /**
   * Actions granted to `user` (undefined when anonymous) for one requested `scope` string. Default: an
   * authenticated user gets every requested action, an anonymous one gets none.
   */
  access?: (user: string | undefined, scope: string, parsed: ParsedScope) => string[];
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /** How the JWT names its key: `"x5c"` (certificate chain and kid, default) or `"kid"` only. */
  keyHeader?: "x5c" | "kid";
}

/** One request the token server answered. */
export interface TokenRequest {
  /** `GET` or `POST`. */
  method: string;
  /** The `account` parameter. */
  account?: string;
  /** The requested scopes joined by a space (undefined when none). */
  scope?: string;
  /** The authenticated user (Basic auth, password grant or refresh token). */
  user?: string;
  /** `password` or `refresh_token` for POST. */
  grantType?: string;
  /** The `service` parameter. */
  service?: string;
  /** Status the token server answered. */
  status: number;
}

/** A running token server. */
export interface TokenServer {
  /** The token endpoint (`realm` of the registry's Bearer challenge). */
  readonly realm: string;
  /** The `service` (JWT `aud`) tokens are issued for. */
  readonly service: string;
  /** The JWT `iss`. */
  readonly issuer: string;
  /** Path of the PEM certificate to give the registry as `rootcertbundle`. */
  readonly rootCertBundle: string;
  /** libtrust key ID of the signing key (the JWT `kid`). */
  readonly keyId: string;
  /** Every request answered, in order. */
  readonly requests: TokenRequest[];
  /** Issues a token directly (no HTTP), e.g. to craft one for a test. */
  issue(user: string | undefined, scopes: string[]): Promise<string>;
  /** Shuts the listener down and removes the key and certificate. */
  stop(): Promise<void>;
  /** Same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Splits a scope string; returns undefined when it is malformed. */
export function parseScope(scope: string): ParsedScope | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return undefined;
  // `repository(plugin):name:pull` — the resource class in parentheses is dropped, as distribution does.
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  return {
    type,
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(",").filter(Boolean),
  };
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * libtrust's key ID: sha256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without padding, in
 * twelve groups of four joined by colons (libtrust util.go keyIDFromCryptoKey).
 */
export function libtrustKeyId(spki: Uint8Array): string {
  const hash = createHash("sha256").update(spki).digest().subarray(0, 30);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(":");
}

function base64url(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function parseBasic(header: string | null): { user: string; password: string } | undefined {
  if (!header?.toLowerCase().startsWith("basic ")) return undefined;
  const text = new TextDecoder().decode(base64Decode(header.slice(6).trim()));
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Starts a token server on 127.0.0.1 with a fresh key and certificate.
 *
 * @example
 * ```ts ignore
 * await using tokens = await startTokenServer({ users: { alice: "secret" } });
 * await using registry = await startRegistry({ auth: { token: tokens } });
 * ```
 */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? "tug-test-registry";
  const issuer = options.issuer ?? "tug-test-issuer";
  const users = options.users ?? {};
  const expiresIn = options.expiresIn ?? 300;
  const access = options.access ??
    ((user: string | undefined, _scope: string, parsed: ParsedScope) =>
      user === undefined ? [] : parsed.actions);
  const dir = await Deno.makeTempDir({ prefix: "tug-token-" });
  let cert: Certificate;
  try {
    cert = await createCertificate(dir, { commonName: issuer, name: "token-signer" });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const key = await crypto.subtle.importKey(
    "pkcs8",
    base64Decode(pemBody(cert.keyPem, "PRIVATE KEY")),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256", ext: true },
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["verify"],
  );
  const keyId = libtrustKeyId(new Uint8Array(await crypto.subtle.exportKey("spki", publicKey)));
  const x5c = [pemBody(cert.certificatePem, "CERTIFICATE")];
  const refreshTokens = new Map<string, string>();
  const requests: TokenRequest[] = [];

  async function issue(user: string | undefined, scopes: string[]): Promise<string> {
    const grants: Array<{ type: string; name: string; actions: string[] }> = [];
    for (const scope of scopes) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      const allowed = new Set(access(user, scope, parsed));
      const actions = parsed.actions.filter((a) => allowed.has(a) || allowed.has("*"));
      if (actions.length > 0) grants.push({ type: parsed.type, name: parsed.name, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = options.keyHeader === "kid"
      ? { typ: "JWT", alg: "RS256", kid: keyId }
      : { typ: "JWT", alg: "RS256", kid: keyId, x5c };
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: crypto.randomUUID(),
      access: grants,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = await crypto.subtle.sign(
      "RSASSA-PKCS1-v1_5",
      key,
      new TextEncoder().encode(signingInput),
    );
    return `${signingInput}.${base64url(new Uint8Array(signature))}`;
  }

  function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    });
  }

  const unauthorized = () =>
    json(401, { errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] }, {
      "WWW-Authenticate": `Basic realm="${issuer}"`,
    });

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/token") {
      return json(404, { errors: [{ code: "NOT_FOUND", message: url.pathname }] });
    }
    const record: TokenRequest = { method: req.method, status: 0 };
    requests.push(record);
    const answer = (res: Response) => {
      record.status = res.status;
      return res;
    };
    let params: URLSearchParams;
    if (req.method === "GET") params = url.searchParams;
    else if (req.method === "POST") params = new URLSearchParams(await req.text());
    else return answer(json(405, { errors: [{ code: "UNSUPPORTED", message: req.method }] }));
    const scopes = params.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
    record.account = params.get("account") ?? params.get("username") ?? undefined;
    record.scope = scopes.length ? scopes.join(" ") : undefined;
    record.service = params.get("service") ?? undefined;
    if (record.service !== undefined && record.service !== service) {
      return answer(json(400, { errors: [{ code: "INVALID_SERVICE", message: record.service }] }));
    }
    let user: string | undefined;
    let offline = params.get("offline_token") === "true" || params.get("access_type") === "offline";
    if (req.method === "POST") {
      const grantType = params.get("grant_type") ?? "";
      record.grantType = grantType;
      if (grantType === "password") {
        const name = params.get("username") ?? "";
        if (!(name in users) || users[name] !== params.get("password")) return answer(unauthorized());
        user = name;
      } else if (grantType === "refresh_token") {
        user = refreshTokens.get(params.get("refresh_token") ?? "");
        if (user === undefined) return answer(unauthorized());
        offline = false;
      } else {
        return answer(json(400, { errors: [{ code: "UNSUPPORTED_GRANT", message: grantType }] }));
      }
    } else {
      const basic = parseBasic(req.headers.get("Authorization"));
      if (basic) {
        if (!(basic.user in users) || users[basic.user] !== basic.password) return answer(unauthorized());
        user = basic.user;
      }
    }
    record.user = user;
    const token = await issue(user, scopes);
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    };
    if (offline && user !== undefined) {
      const refresh = crypto.randomUUID();
      refreshTokens.set(refresh, user);
      body.refresh_token = refresh;
    }
    if (req.method === "POST") body.scope = scopes.join(" ");
    return answer(json(200, body));
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  const realm = `http://127.0.0.1:${server.addr.port}/token`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  return {
    realm,
    service,
    issuer,
    rootCertBundle: cert.certificatePath,
    keyId,
    requests,
    issue,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A registry wired to a token server. */
export interface TokenRegistry {
  /** The registry (auth.token pointing at `tokenServer`). */
  registry: RegistryProcess;
  /** The token server. */
  tokenServer: TokenServer;
  /** Stops both. */
  stop(): Promise<void>;
  /** Same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a token server and a registry that trusts it (`auth.token`).
 *
 * @example
 * ```ts ignore
 * await using both = await startTokenRegistry({ token: { users: { alice: "secret" } } });
 * await seedImages(both.registry, { username: "alice", password: "secret" });
 * ```
 */
export async function startTokenRegistry(
  options: { token?: TokenServerOptions; registry?: Omit<RegistryOptions, "auth"> } = {},
): Promise<TokenRegistry> {
  const tokenServer = await startTokenServer(options.token);
  let registry: RegistryProcess;
  try {
    registry = await startRegistry({ ...options.registry, auth: { token: tokenServer } });
  } catch (error) {
    await tokenServer.stop();
    throw error;
  }
  const stop = async () => {
    await registry.stop();
    await tokenServer.stop();
  };
  return { registry, tokenServer, stop, [Symbol.asyncDispose]: stop };
}
