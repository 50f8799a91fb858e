// Type definitions for act-sdk. Checked by `tsc --noEmit` on test/types.ts,
// and test/api.test.js checks that every runtime export and reason code is here.

/** Reasons of an `allow`. */
export type AllowReason = 'allowed' | 'approved'

/** Reasons of a `deny` (docs/reasons.md; new codes may be added). */
export type DenyReason =
  | 'token_malformed'
  | 'token_too_large'
  | 'token_alg_not_allowed'
  | 'token_header_invalid'
  | 'token_header_forbidden'
  | 'token_duplicate_key'
  | 'token_claim_invalid'
  | 'token_unknown_key'
  | 'issuer_not_allowed'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_audience_mismatch'
  | 'token_revoked'
  | 'delegation_invalid'
  | 'delegation_too_deep'
  | 'delegation_unsealed'
  | 'agent_revoked'
  | 'subject_revoked'
  | 'grant_revoked'
  | 'kill_switch'
  | 'circuit_open'
  | 'unknown_agent'
  | 'action_not_allowed'
  | 'resource_not_allowed'
  | 'resource_invalid'
  | 'template_unresolved'
  | 'constraint_failed'
  | 'context_invalid'
  | 'rate_limited'
  | 'approval_invalid'
  | 'approval_replayed'
  | 'counter_store_unavailable'
  | 'no_snapshot'
  | 'snapshot_stale'
  | 'request_invalid'

/** Every decision reason: a stable machine code. */
export type Reason = AllowReason | 'approval_required' | DenyReason

export type Outcome = 'allow' | 'deny' | 'approval_required'

/** A JSON value, as context, user context or a capability may hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** What a human is asked to approve: exactly one request. */
export interface ApprovalRequest {
  /** The binding id; pass it (or the decision) to `act.approve`. */
  id: string
  agent: string
  subject: string
  action: string
  resource: string
  /** The constraint that asked, e.g. `customer-support-bot/process_refund/requireSecondApproval`. */
  constraint: string
  /** The condition as written, e.g. `amount > 100`. */
  condition: string
  /** `jti` of the token presented. */
  tokenId: string
  /** SHA-256 of the canonical context (base64url): over exactly `context`. */
  contextHash: string
  /** The argument values the approver sees: the context after the policy's redaction
   *  (a redacted value reads `[redacted:<digest>]`). */
  context: JsonObject
  /** Every approval rule that fired, in policy order; the first is `constraint` / `condition`. */
  conditions: ApprovalCondition[]
  /** The agents of the token's delegation chain, root first. */
  chain: string[]
}

/** One approval rule that fired on a request. */
export interface ApprovalCondition {
  constraint: string
  condition: string
}

/** What the agent's shadow policy would have decided: audited, never enforced. */
export interface ShadowOutcome {
  outcome: Outcome
  reason: Reason
  rule: string | null
  message: string
  constraint: string | null
}

/** One step of `explain`. */
export interface TraceStep {
  /** `token`, `revocation`, `grant`, `constraint`, `limit`, `approval`, `decision`, ... */
  stage: string
  detail: string
}

interface DecisionBase {
  /** One human sentence naming what decided. */
  message: string
  /** Id of the audit record (empty for `check`/`explain` and unaudited allows). */
  auditId: string
  /** The policy snapshot version used. */
  snapshotVersion: number
  /** The agent named by the token, when it could be read. */
  agent: string | null
  /** The user the agent acts for, when the token could be read. */
  subject: string | null
  /** What the agent's shadow policy would have decided, or `null` when it has none. */
  shadow: ShadowOutcome | null
  /** Only from `explain`: every rule and constraint looked at. */
  trace?: TraceStep[]
  /** The plain object these read-only fields describe (what `JSON.stringify` writes). */
  toJSON(): object
}

export interface AllowDecision extends DecisionBase {
  outcome: 'allow'
  allowed: true
  reason: AllowReason
  /** The grant that allowed, e.g. `customer-support-bot`. */
  rule: string
  constraint: null
  approvalRequest: null
}

export interface DenyDecision extends DecisionBase {
  outcome: 'deny'
  allowed: false
  reason: DenyReason
  /** The grant that decided, when one did. */
  rule: string | null
  /** The constraint that failed, e.g. `customer-support-bot/process_refund/maxAmount`. */
  constraint: string | null
  approvalRequest: null
}

export interface ApprovalRequiredDecision extends DecisionBase {
  outcome: 'approval_required'
  allowed: false
  reason: 'approval_required'
  rule: string
  constraint: string
  approvalRequest: ApprovalRequest
}

/** The answer to one request, discriminated on `outcome`: a read-only object whose fields are
 *  decoded when first read (`JSON.stringify` and `util.inspect` give the plain object). */
export type Decision = AllowDecision | DenyDecision | ApprovalRequiredDecision

/** One action an agent wants to take. */
export interface Request {
  /** The ACT token (or delegation chain) the agent presents. */
  token: string
  /** The action, e.g. `process_refund`. */
  action: string
  /** The resource, e.g. `order://customer:42/1001`. */
  resource: string
  /**
   * Facts for constraints, e.g. `{ amount: 120 }`. Build it from the tool
   * call's validated arguments in your code, never from the model's text.
   */
  context?: JsonObject | null
  /** An approval token from `act.approve` for exactly this request. */
  approval?: string | null
}

/** One audit record, as handed to an audit callback. */
export interface AuditRecord {
  id: string
  /** RFC 3339, milliseconds, UTC. */
  time: string
  outcome: Outcome
  reason: Reason
  message: string
  agent: string | null
  subject: string | null
  jti: string | null
  action: string
  resource: string
  /** The context, with the policy's sensitive fields redacted. */
  context: JsonObject
  rule: string | null
  constraint: string | null
  snapshotVersion: number
  latencyUs: number
  /** What the agent's shadow policy would have decided; absent when it has none. */
  shadow?: ShadowOutcome
  /** Set on an alert record instead of a decision (e.g. `breaker_opened`); absent on decisions. */
  event?: string
  prevHash: string
  hash: string
}

/** A destination for audit records: a callback, a JSON Lines file path, or both. */
export type AuditSink =
  | ((record: AuditRecord) => void)
  | string
  | { file?: string; callback?: (record: AuditRecord) => void }

export interface ACTOptions {
  /** A policy file (YAML or JSON) or a folder of them. */
  policyFile?: string
  /** Policy text (YAML or JSON), instead of `policyFile`. */
  policy?: string
  /** The file name `policy` text is reported under in diagnostics (default `<inline>`). */
  policyName?: string
  /** The key that signs tokens and approvals; its public key is trusted. */
  signingKey?: SigningKey
  /** Further trusted issuer keys: `SigningKey`s, `ed25519:<base64url>` strings or public JWKs. */
  trust?: Array<SigningKey | string | JsonObject>
  /** Tokens must name this audience in `aud`; issued tokens carry it. */
  audience?: string
  /** `iss` of issued tokens (default `act`). */
  issuer?: string
  /** Clock skew tolerated on `exp`/`nbf`, seconds (default 30, at most 86400). */
  leeway?: number
  /** Longest delegation chain, root included (default 4). */
  maxDelegationDepth?: number
  /** Where audit records go; JS callbacks run on the main thread, never blocking it. */
  audit?: AuditSink | AuditSink[]
  /** A clock for tests (default: the system clock). */
  clock?: ManualClock
  /** A control endpoint base URL (instead of `policyFile`/`policy`): signed snapshots are kept current from it. */
  endpoint?: string
  /** Sent as `Authorization: Bearer <apiKey>` to the endpoint. */
  apiKey?: string
  /** The control plane's public key: snapshots signed by any other key are refused. Required with `endpoint`. */
  trustKey?: SigningKey | string | JsonObject
  /** Where the last verified snapshot is kept, so a restart with the endpoint down still serves it. */
  cacheDir?: string
  /** Seconds without a confirmed-current snapshot after which validations deny `snapshot_stale`. */
  maxStaleness?: number
  /** Re-read `policyFile` when it changes (polled twice a second). */
  watch?: boolean
  /** Where rate-limit counters and approval marks live: `'memory'` (default, per process) or a
   *  `redis://` URL (one limit for every process; connects once when constructed, 1 s timeout). */
  counters?: string
  /** The issuer credential: in endpoint mode without `signingKey`, `issueToken` mints through
   *  `POST /v1/tokens` with it (default: `$ACT_ISSUER_API_KEY`). */
  issuerApiKey?: string
  /** Ship audit records to the endpoint's `POST /v1/audit` (default: on in endpoint mode). */
  shipAudit?: boolean
  /** Signs checkpoints of every audit file into `<file>.checkpoints`, so a removed tail or a
   *  re-hashed edit is detectable (`verifyAuditLog(text, { checkpoints, auditKey })`); the sink
   *  refuses to continue a log that lost checkpointed records. Keep the same key across restarts. */
  auditKey?: SigningKey
}

/** A pending approval request at the control endpoint. */
export interface ApprovalHandle {
  id: string
  status: 'pending' | 'granted' | 'denied' | 'expired'
  expiresAtMs: number | null
}

/** The verified claims of a token. */
export interface TokenInfo {
  jti: string
  agent: string
  subject: string
  /** The earliest `exp` of the chain, seconds since the epoch. */
  expiresAt: number
  /** Every link's claims, root first. */
  chain: JsonObject[]
}

/** HTTP audit shipping counters (endpoint mode). */
export interface AuditShipping {
  queued: number
  spilled: number
  dropped: number
  delivered: number
  spillPendingBytes: number
  lastError: string | null
}

export interface IssueTokenOptions {
  /** The agent id; it needs a policy unless `policy` is given. */
  agent: string
  /** Facts about the user; `user_id` (required) becomes the token's subject. */
  userContext: JsonObject
  /** Agent attributes for `{{agent.X}}` templates. */
  agentContext?: JsonObject | null
  /** An inline capability that narrows the agent's policy (or stands in for it). */
  policy?: JsonObject | null
  /** Lifetime in seconds (default 3600, at most 30 days). */
  ttl?: number
  /** A holder key that may delegate: a `SigningKey` (its public half is used) or a public key. */
  holderKey?: SigningKey | string | JsonObject | null
}

export interface DelegateOptions {
  /** The key named in the parent token's `cnf` (`holderKey` when it was issued). */
  holderKey: SigningKey
  /** The sub-agent id. */
  agent: string
  agentContext?: JsonObject | null
  /** The narrower capability handed down; omit it to hand down the parent's grant. */
  policy?: JsonObject | null
  /** Lifetime in seconds; the child never outlives its parent. */
  ttl: number
  /** A holder key for further delegation by the sub-agent. */
  nextHolderKey?: SigningKey | string | JsonObject | null
}

export interface SealOptions {
  /** The key named in the token's last `cnf`. */
  holderKey: SigningKey
  /** Lifetime of the seal in seconds (never longer than the token). */
  ttl: number
}

export interface ApproveOptions {
  /** Who approved (recorded in the approval). */
  approver: string
  /** Lifetime of the approval in seconds (at most 7 days). */
  ttl: number
}

/** The core's status (`act_core::client::ClientStatus`, camelCase): exactly `STATUS_FIELDS`. */
export interface Status {
  instanceId: string
  mode: 'embedded' | 'endpoint'
  source: string
  policyFile: string | null
  snapshotVersion: number
  /** Agents with a policy in the serving snapshot. */
  agents: string[]
  ageMs: number | null
  lastSyncMs: number | null
  lastError: string | null
  syncRunning: boolean
  updates: number
  closed: boolean
  /** Records written to every sink. */
  auditWritten: number
  /** Sink write failures. */
  auditErrors: number
  auditLastError: string | null
  /** HTTP audit shipping, `null` when off. */
  audit: AuditShipping | null
  openBreakers: Array<{ agent: string; subject: string | null }>
}

/** The JS audit callbacks of one client. */
export interface AuditCallbacks {
  /** Records handed to them. */
  delivered: number
  /** Times one threw. */
  errors: number
}

/** The ACT client: validates every action of an agent, in-process. */
export declare class ACT {
  constructor(options: ACTOptions)
  /** Decides and enforces: consumes rate limits and approvals, writes the audit record. */
  validate(request: Request): Decision
  /** Decides without side effects (no counters, approvals or audit). */
  check(request: Request): Decision
  /** Like `check`, with a `trace`. */
  explain(request: Request): Decision & { trace: TraceStep[] }
  /** Issues a token with the local `signingKey`. */
  issueToken(options: IssueTokenOptions): string
  /** Issues a token; in endpoint mode without `signingKey`, the endpoint mints it (`issuerApiKey`). */
  issueTokenAsync(options: IssueTokenOptions): Promise<string> | Promise<string>
  /** Asks the control endpoint for a human approval of an `approval_required` decision. */
  requestApproval(decision: Decision): Promise<ApprovalHandle>
  /** Long-polls for the decision; the approval, or `ApprovalDeniedError` / `ApprovalTimeoutError`. */
  waitForApproval(handle: ApprovalHandle | string, timeoutMs?: number): Promise<string>
  /** The verified claims of a token. */
  inspectToken(token: string): TokenInfo
  /** Resolves to true once shipped audit records were all delivered. */
  waitAuditDelivered(timeoutMs?: number): Promise<boolean>
  /** This SDK instance's id (`X-Act-Instance`). */
  readonly instanceId: string
  /** Hands a narrower token to a sub-agent (offline). */
  delegate(token: string, options: DelegateOptions): string
  /** Seals a token whose last link names `holderKey` in `cnf`, so its holder can present it. */
  seal(token: string, options: SealOptions): string
  /** Signs an approval of an `approval_required` decision; it works once, for exactly that request. */
  approve(request: Decision | ApprovalRequest | string, options: ApproveOptions): string
  /** Re-reads the policy and swaps it in without pausing validations; resolves to the new version. */
  /** Resolves to the serving snapshot version once one serves, or after `timeoutMs` (0: none yet). */
  ready(timeoutMs?: number): Promise<number>
  reload(): Promise<number>
  /** Resolves once every audit record so far reached every sink, JS callbacks included. */
  flushAudit(): Promise<void>
  /** Flushes and closes the audit sinks and stops the engine. */
  close(): Promise<void>
  readonly status: Status
  /** Records delivered to the JS audit callbacks, and how often they threw. */
  readonly auditCallbacks: AuditCallbacks
  /** `guard(this, spec, fn)`. */
  guard<A extends unknown[], R>(spec: GuardSpec<A>, fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R>
}

/** An Ed25519 private key. */
export declare class SigningKey {
  private constructor(inner: never)
  static generate(): SigningKey
  /** From the 32-byte seed (the JWK `d`). */
  static fromSeed(seed: Uint8Array): SigningKey
  /** From a PKCS#8 PEM `PRIVATE KEY` block. */
  static fromPem(pem: string): SigningKey
  /** From a private OKP/Ed25519 JWK (object or JSON text). */
  static fromJwk(jwk: JsonObject | string): SigningKey
  toPem(): string
  /** The private JWK, with `d` and `kid`. */
  toJwk(): { kty: 'OKP'; crv: 'Ed25519'; x: string; d: string; kid: string }
  /** The public JWK, with `kid`. */
  publicJwk(): { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string }
  /** `ed25519:<base64url>`. */
  readonly publicKey: string
  /** RFC 7638 thumbprint. */
  readonly kid: string
  toJSON(): { kid: string; publicKey: string }
}

/** A clock that moves only when told to (tests). */
export declare class ManualClock {
  /** Starts at `ms` milliseconds since the epoch (default: now). */
  constructor(ms?: number)
  now(): number
  advance(ms: number): void
  set(ms: number): void
}

/** A value, or a function of the guarded tool's arguments. */
export type FromArgs<A extends unknown[], T> = T | ((...args: A) => T)

export interface GuardSpec<A extends unknown[]> {
  action: FromArgs<A, string>
  resource: FromArgs<A, string>
  token: FromArgs<A, string>
  /** Default: the first argument when it is a plain object. */
  context?: FromArgs<A, JsonObject | null | undefined>
  approval?: FromArgs<A, string | null | undefined>
}

/**
 * Wraps an async tool function: every call is validated first; a deny throws
 * `DeniedError`, an approval_required throws `ApprovalRequiredError`.
 */
export declare function guard<A extends unknown[], R>(
  act: ACT,
  spec: GuardSpec<A>,
  fn: (...args: A) => R | Promise<R>,
): (...args: A) => Promise<R>

/** Checks a JSON Lines audit log's hash chain; returns its record count. Throws `AuditChainError`. */
export declare function verifyAuditLog(
  text: string,
  options?: {
    start?: string
    /** The `<log>.checkpoints` text; needs `auditKey`. */
    checkpoints?: string
    /** The audit key's public half (or the key) the checkpoints are signed with. */
    auditKey?: SigningKey | string | JsonObject
  },
): number

/** Every reason code, in the core's order. */
export declare const REASONS: readonly Reason[]
/** The `prevHash` of the first record of an audit chain. */
export declare const GENESIS_HASH: string

/** Stable codes of errors (decision reasons are not errors). */
export type ErrorCode =
  | 'policy_invalid'
  | 'token_invalid'
  | 'key_invalid'
  | 'invalid_argument'
  | 'snapshot_rejected'
  | 'counter_store_failed'
  | 'io_error'
  | 'internal'
  | 'audit_chain_broken'

/** Every error ACT throws. Checks work across duplicate installs of act-sdk. */
export declare class ActError extends Error {
  constructor(message: string, code?: string, options?: { cause?: unknown })
  /** A stable machine code: an `ErrorCode`, or a decision reason for `DeniedError`. */
  code: string
  /** True for an error from any copy of act-sdk. */
  static isActError(e: unknown): e is ActError
  /** True when `e` is this class (or a subclass) from any copy of act-sdk. */
  static isInstance<T extends abstract new (...args: any) => ActError>(this: T, e: unknown): e is InstanceType<T>
}

/** One problem in a policy document. */
export interface Diagnostic {
  file: string
  /** 1-based; 0 when unknown. */
  line: number
  column: number
  /** The dotted key at fault, e.g. `policy.constraints.refunds.maxAmont`. */
  key: string
  message: string
}

/** The policy does not compile (`policy_invalid`); every problem is in `diagnostics`. */
export declare class PolicyError extends ActError {
  code: 'policy_invalid'
  diagnostics: Diagnostic[]
}
/** A token could not be issued or delegated (`token_invalid`); `reason` is the decision code. */
export declare class TokenError extends ActError {
  code: 'token_invalid'
  reason: DenyReason | null
}
/** A key could not be parsed or used (`key_invalid`). */
export declare class KeyError extends ActError {
  code: 'key_invalid'
}
/** An option or argument is unusable, or the client is closed (`invalid_argument`). */
export declare class ConfigError extends ActError {
  code: 'invalid_argument'
}
/** A snapshot was rejected or the counter store failed (`snapshot_rejected`, `counter_store_failed`). */
export declare class SnapshotError extends ActError {
  code: 'snapshot_rejected' | 'counter_store_failed'
}
/** A file could not be read or written (`io_error`). */
export declare class IoError extends ActError {
  code: 'io_error'
  path: string | null
}
/** A bug in ACT, such as a panic in the native core (`internal`). */
export declare class InternalError extends ActError {
  code: 'internal'
}
/** An audit log's hash chain is broken at `line` (`audit_chain_broken`). */
export declare class AuditChainError extends ActError {
  code: 'audit_chain_broken'
  line: number
}
/** The counter store (Redis) failed: an outage, not a bad snapshot. */
export declare class CounterStoreError extends ActError {
  code: 'counter_store_failed'
}
/** The control endpoint refused a request or could not be reached; the transport error is `cause`. */
export declare class EndpointError extends ActError {
  code: 'endpoint_failed'
  /** The HTTP status; `null` when no answer came. */
  status: number | null
  /** The endpoint's stable code (`unauthorized`, `not_found`, ...) or `unreachable` / `bad_answer`. */
  endpointCode: string | null
  url: string | null
}
/** A human denied the approval, or it expired undecided. */
export declare class ApprovalDeniedError extends ActError {
  code: 'approval_denied'
  approvalId: string
  status: 'denied' | 'expired'
  /** The approver's reason. */
  reason: string
  decidedBy: string | null
}
/** No one decided the approval within the wait. */
export declare class ApprovalTimeoutError extends ActError {
  code: 'approval_timeout'
  approvalId: string
  waitedMs: number
}
/** The core's status field names (snake_case; `act.status` has them camelCase). */
export declare const STATUS_FIELDS: readonly string[]
/** Thrown by `guard` on a deny; `code` is the decision's reason. */
export declare class DeniedError extends ActError {
  constructor(decision: DenyDecision)
  code: DenyReason
  decision: DenyDecision
}
/** Thrown by `guard` when a human must approve first. */
export declare class ApprovalRequiredError extends ActError {
  constructor(decision: ApprovalRequiredDecision)
  code: 'approval_required'
  decision: ApprovalRequiredDecision
  readonly approvalRequest: ApprovalRequest
}
