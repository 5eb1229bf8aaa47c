/**
 * One certificate from an ACME CA (RFC 8555 §7.4): a new order for the names, each
 * authorization proved with the first challenge type the CA offers from `challenges`
 * (answered by the responder for as long as the CA validates), then finalize with a
 * CSR for a new key, and the chain downloaded.
 */
import { AcmeClient, AcmeProblem } from "./client.ts";
import { createCsr } from "./csr.ts";
import { base64url } from "./jws.ts";
import { newKeyPem, privateKey } from "./keys.ts";

export type ChallengeType = "http-01" | "tls-alpn-01";
export const CHALLENGE_TYPES: readonly ChallengeType[] = ["http-01", "tls-alpn-01"];

/** Where challenge answers are put up (challenges.ts) while the CA validates. */
export interface ChallengeResponder {
  add(type: ChallengeType, name: string, token: string, keyAuthorization: string): void;
  remove(type: ChallengeType, name: string, token: string): void;
}

/** A failure naming what failed: the host, the challenge and the CA's problem detail. */
export class IssueError extends Error {
  constructor(readonly host: string, readonly challenge: ChallengeType | null, readonly problem: string) {
    super(problem);
    this.name = "IssueError";
  }
}

interface Challenge {
  type: string;
  url: string;
  token: string;
  status: string;
  error?: { type?: string; detail?: string };
}
interface Authorization {
  status: string;
  identifier: { type: string; value: string };
  challenges: Challenge[];
  wildcard?: boolean;
}
interface Order {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: { type?: string; detail?: string };
}

export interface IssueOptions {
  challenges: readonly ChallengeType[];
  responder: ChallengeResponder;
  contact: string | null;
  /** How long the whole order may take. @default 120_000 */
  deadlineMs?: number;
}

/**
 * A certificate (PEM chain) and its new key (PKCS#8 PEM) for `names`, and the
 * challenge that proved them (null: the CA had valid authorizations already).
 */
export async function issueCertificate(
  client: AcmeClient,
  names: readonly string[],
  options: IssueOptions,
): Promise<{ cert: string; key: string; via: ChallengeType | null }> {
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  await client.account(options.contact);
  const d = await client.directory();
  const created = await client.post<Order>(d.newOrder, { identifiers: names.map((n) => ({ type: "dns", value: n })) });
  const orderUrl = created.location;
  if (!orderUrl) throw new Error("ACME newOrder answered without the order URL (Location)");
  let via: ChallengeType | null = null;
  for (const url of created.body.authorizations) via = (await authorize(client, url, options, deadline)) ?? via;
  const keyPem = newKeyPem();
  const csr = base64url(createCsr(names, privateKey(keyPem)));
  let order = await poll<Order>(client, orderUrl, (o) => o.status !== "pending", deadline);
  if (order.status === "ready") {
    order = (await client.post<Order>(order.finalize, { csr })).body;
    if (order.status !== "valid") {
      order = await poll<Order>(client, orderUrl, (o) => o.status !== "processing", deadline);
    }
  }
  if (order.status !== "valid" || !order.certificate) {
    throw new IssueError(names[0], null, `order ${order.status}: ${problemText(order.error)}`);
  }
  const cert = await client.post<unknown>(order.certificate, null);
  return { cert: cert.text, key: keyPem, via };
}

/** Proves one authorization: answers its challenge and waits for the CA's verdict. */
async function authorize(
  client: AcmeClient,
  url: string,
  options: IssueOptions,
  deadline: number,
): Promise<ChallengeType | null> {
  const authz = (await client.post<Authorization>(url, null)).body;
  const host = authz.identifier.value;
  if (authz.status === "valid") return null;
  if (authz.status !== "pending") throw new IssueError(host, null, `authorization is ${authz.status}`);
  const challenge = options.challenges
    .map((t) => authz.challenges.find((c) => c.type === t))
    .find((c) => c !== undefined);
  if (!challenge) {
    const offered = authz.challenges.map((c) => c.type).join(", ");
    throw new IssueError(host, null, `the CA offers none of ${options.challenges.join(", ")} (offers: ${offered})`);
  }
  const type = challenge.type as ChallengeType;
  options.responder.add(type, host, challenge.token, client.keyAuthorization(challenge.token));
  try {
    await client.post(challenge.url, {});
    const done = await poll<Authorization>(client, url, (a) => a.status !== "pending", deadline);
    if (done.status !== "valid") {
      const failed = done.challenges.find((c) => c.type === type) ?? challenge;
      throw new IssueError(host, type, problemText(failed.error) || `authorization ${done.status}`);
    }
    return type;
  } catch (err) {
    if (err instanceof AcmeProblem) throw new IssueError(host, type, err.message);
    throw err;
  } finally {
    options.responder.remove(type, host, challenge.token);
  }
}

/** POST-as-GET `url` until `done` says so, honouring Retry-After (at most 5 s apart). */
async function poll<T>(client: AcmeClient, url: string, done: (body: T) => boolean, deadline: number): Promise<T> {
  let waitMs = 250;
  for (;;) {
    const r = await client.post<T>(url, null);
    if (done(r.body)) return r.body;
    if (Date.now() + waitMs > deadline) throw new Error(`ACME: ${url} did not settle in time`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(r.retryAfterMs ?? waitMs, 5_000)));
    waitMs = Math.min(waitMs * 2, 2_000);
  }
}

function problemText(p: { type?: string; detail?: string } | undefined): string {
  if (!p) return "";
  const type = (p.type ?? "").replace("urn:ietf:params:acme:error:", "");
  return type ? `${type}: ${p.detail ?? ""}` : p.detail ?? "";
}
