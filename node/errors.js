'use strict'
// Error classes of act-sdk. Every error ACT throws is an `ActError` with a
// stable `code`. Checks work across duplicate installs of the package (two
// copies in node_modules, CommonJS beside ESM): `ActError.isActError(e)`,
// `PolicyError.isInstance(e)` and even `instanceof` look at a
// `Symbol.for('act-sdk.error')` brand and class names, not at object identity.

const BRAND = Symbol.for('act-sdk.error')

function isBranded(e) {
  return e !== null && (typeof e === 'object' || typeof e === 'function') && e[BRAND] === true
}

function hasClassNamed(e, name) {
  for (let p = Object.getPrototypeOf(e); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, 'constructor') && p.constructor.name === name) return true
  }
  return false
}

class ActError extends Error {
  constructor(message, code, options) {
    super(message, options)
    this.code = code === undefined ? this.constructor.defaultCode : code
  }

  /** True for an error thrown by any copy of act-sdk. */
  static isActError(e) {
    return isBranded(e)
  }

  /** True when `e` is this class (or a subclass) from any copy of act-sdk. */
  static isInstance(e) {
    return isBranded(e) && (this.name === 'ActError' || hasClassNamed(e, this.name))
  }

  static [Symbol.hasInstance](e) {
    return this.isInstance(e)
  }
}
ActError.defaultCode = 'internal'
Object.defineProperty(ActError.prototype, BRAND, { value: true })

function define(name, defaultCode, Base = ActError, init) {
  // A named class expression, so `constructor.name` is the public name.
  const C = {
    [name]: class extends Base {
      constructor(message, code, details) {
        // Only an object carries details (spreading a string would copy it one key per character).
        const { cause, ...rest } = details !== null && typeof details === 'object' ? details : {}
        super(message, code, cause === undefined ? undefined : { cause })
        if (init) init(this, rest)
      }
    },
  }[name]
  C.defaultCode = defaultCode
  Object.defineProperty(C.prototype, 'name', { value: name, writable: true, configurable: true })
  return C
}

Object.defineProperty(ActError.prototype, 'name', { value: 'ActError', writable: true, configurable: true })

const PolicyError = define('PolicyError', 'policy_invalid', ActError, (e, d) => {
  e.diagnostics = d.diagnostics ?? []
})
const TokenError = define('TokenError', 'token_invalid', ActError, (e, d) => {
  e.reason = d.reason ?? null
})
const KeyError = define('KeyError', 'key_invalid')
const ConfigError = define('ConfigError', 'invalid_argument')
const SnapshotError = define('SnapshotError', 'snapshot_rejected')
const IoError = define('IoError', 'io_error', ActError, (e, d) => {
  e.path = d.path ?? null
})
const InternalError = define('InternalError', 'internal')
const AuditChainError = define('AuditChainError', 'audit_chain_broken', ActError, (e, d) => {
  e.line = d.line ?? 0
})
/** The counter store (Redis) failed: an outage, not a bad snapshot. */
const CounterStoreError = define('CounterStoreError', 'counter_store_failed')
/** The control endpoint refused a request or could not be reached; the transport error is `cause`. */
const EndpointError = define('EndpointError', 'endpoint_failed', ActError, (e, d) => {
  e.status = d.status ?? null
  e.endpointCode = d.endpointCode ?? null
  e.url = d.url ?? null
})
/** A human denied the approval (or it expired undecided); `reason` is the approver's. */
const ApprovalDeniedError = define('ApprovalDeniedError', 'approval_denied', ActError, (e, d) => {
  e.approvalId = d.approvalId ?? ''
  e.status = d.status ?? 'denied'
  e.reason = d.reason ?? ''
  e.decidedBy = d.decidedBy ?? null
})
/** No one decided the approval within the wait. */
const ApprovalTimeoutError = define('ApprovalTimeoutError', 'approval_timeout', ActError, (e, d) => {
  e.approvalId = d.approvalId ?? ''
  e.waitedMs = d.waitedMs ?? 0
})

/** The decision an error class wraps must be one ACT returned (an object with string `message` and `reason`). */
function checkDecision(who, decision) {
  const ok =
    decision !== null &&
    typeof decision === 'object' &&
    typeof decision.message === 'string' &&
    typeof decision.reason === 'string'
  if (!ok) throw new ConfigError(`${who} takes the decision ACT returned`, 'invalid_argument')
  return decision
}

/** Thrown by `guard` when the decision is a deny; `code` is the decision's reason. */
class DeniedError extends ActError {
  constructor(decision) {
    checkDecision('DeniedError', decision)
    super(decision.message, decision.reason)
    this.decision = decision
  }
}
Object.defineProperty(DeniedError.prototype, 'name', { value: 'DeniedError', writable: true, configurable: true })

/** Thrown by `guard` when a human must approve first; `approvalRequest` says what. */
class ApprovalRequiredError extends ActError {
  constructor(decision) {
    checkDecision('ApprovalRequiredError', decision)
    super(decision.message, 'approval_required')
    this.decision = decision
  }
  get approvalRequest() {
    return this.decision.approvalRequest
  }
}
Object.defineProperty(ApprovalRequiredError.prototype, 'name', {
  value: 'ApprovalRequiredError',
  writable: true,
  configurable: true,
})

const BY_FAMILY = {
  policy: PolicyError,
  token: TokenError,
  key: KeyError,
  config: ConfigError,
  snapshot: SnapshotError,
  io: IoError,
  internal: InternalError,
  audit: AuditChainError,
  store: CounterStoreError,
  endpoint: EndpointError,
}

/**
 * Turns an error thrown by the native addon into its `ActError` class. The
 * addon tags its errors with the core's `family` (`approval`: denied or timed
 * out, by `code`) and `causes`; anything else it throws (napi's own argument
 * conversion) is a bad argument.
 */
function fromNative(e, what) {
  if (isBranded(e)) return e
  if (e === null || typeof e !== 'object') return new InternalError(String(e), 'internal')
  const C =
    e.family === 'approval'
      ? e.code === 'approval_timeout'
        ? ApprovalTimeoutError
        : ApprovalDeniedError
      : BY_FAMILY[e.family]
  if (C === undefined) {
    const prefix = what ? `${what}: ` : ''
    return new ConfigError(prefix + e.message, 'invalid_argument', { cause: e })
  }
  return new C(e.message, e.code, {
    diagnostics: e.diagnostics,
    reason: e.reason,
    path: e.path,
    line: e.line,
    status: e.status,
    endpointCode: e.endpointCode,
    url: e.url,
    approvalId: e.approvalId,
    decidedBy: e.decidedBy,
    waitedMs: e.waitedMs,
    cause: causes(e.causes),
  })
}

/** The core's source chain (texts, outermost first) as nested `Error`s, each the next one's `cause`. */
function causes(texts) {
  if (!Array.isArray(texts)) return undefined
  let cause
  for (const text of [...texts].reverse()) cause = new Error(String(text), cause === undefined ? undefined : { cause })
  return cause
}

module.exports = {
  BRAND,
  ActError,
  PolicyError,
  TokenError,
  KeyError,
  ConfigError,
  SnapshotError,
  IoError,
  InternalError,
  AuditChainError,
  CounterStoreError,
  EndpointError,
  ApprovalDeniedError,
  ApprovalTimeoutError,
  DeniedError,
  ApprovalRequiredError,
  fromNative,
}
