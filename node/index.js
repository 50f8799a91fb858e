'use strict'
// act-sdk: ACT (Agent Capability Tokens) for Node.js, on the native Rust core.
//
// This file checks argument types, turns native errors into `ActError`
// classes and adds `guard`; every decision, rule and default is the core's.
// See README.md for a quick start and index.d.ts for the full API.

const errors = require('./errors.js')
const { ConfigError, DeniedError, ApprovalRequiredError, fromNative } = errors
const native = require('./native.js').load()
const { bad, isPlainObject, knownOptions } = require('./args.js')

const NATIVE = Symbol('act-sdk.native')

/** Every decision reason code (see docs/reasons.md). */
const REASONS = Object.freeze(native.reasonCodes())

const OUTCOMES = Object.freeze(native.outcomeCodes())

const DECISION_FIELDS = [
  'outcome',
  'allowed',
  'reason',
  'message',
  'rule',
  'constraint',
  'auditId',
  'snapshotVersion',
  'agent',
  'subject',
  'approvalRequest',
  'shadow',
]
const ENCODED = Symbol('act-sdk.decision')

/**
 * One decision, read-only. The core sends it as one string, `<outcome> <reason> <n>|<message><JSON>`
 * (bindings/node/src/decision.rs says why not a native class): `outcome`, `allowed`, `reason`
 * and `message` are read from the header and the `n` characters after it, every other field
 * from the JSON, parsed on the first read, so a `validate` costs only what the caller looks at.
 */
class Decision {
  #s
  #reason = -1
  #messageEnd = 0
  #fields = null
  constructor(encoded, key) {
    if (key !== ENCODED) throw new ConfigError('decisions come from validate, check and explain', 'invalid_argument')
    this.#s = encoded
  }
  #header() {
    const s = this.#s
    let i = 2
    let r = 0
    for (let c = s.charCodeAt(i); c !== 32; c = s.charCodeAt(++i)) r = r * 10 + (c - 48)
    let n = 0
    for (let c = s.charCodeAt(++i); c !== 124; c = s.charCodeAt(++i)) n = n * 10 + (c - 48)
    this.#reason = r
    this.#messageEnd = i + 1 + n
  }
  #rest() {
    if (this.#fields === null) {
      if (this.#reason < 0) this.#header()
      this.#fields = JSON.parse(this.#s.slice(this.#messageEnd))
    }
    return this.#fields
  }
  get outcome() {
    return OUTCOMES[this.#s.charCodeAt(0) - 48]
  }
  get allowed() {
    return this.#s.charCodeAt(0) === 48
  }
  get reason() {
    if (this.#reason < 0) this.#header()
    return REASONS[this.#reason]
  }
  get message() {
    if (this.#reason < 0) this.#header()
    return this.#s.slice(this.#s.indexOf('|') + 1, this.#messageEnd)
  }
  get rule() {
    return this.#rest().rule ?? null
  }
  get constraint() {
    return this.#rest().constraint ?? null
  }
  get auditId() {
    return this.#rest().auditId
  }
  get snapshotVersion() {
    return this.#rest().snapshotVersion
  }
  get agent() {
    return this.#rest().agent ?? null
  }
  get subject() {
    return this.#rest().subject ?? null
  }
  get approvalRequest() {
    return this.#rest().approvalRequest ?? null
  }
  get shadow() {
    return this.#rest().shadow ?? null
  }
  get trace() {
    return this.#rest().trace
  }
  /** The plain object (what `JSON.stringify` writes). */
  toJSON() {
    const o = {}
    for (const k of DECISION_FIELDS) o[k] = this[k]
    if (this.trace !== undefined) o.trace = this.trace
    return o
  }
  [Symbol.for('nodejs.util.inspect.custom')](_depth, opts, inspect) {
    return `Decision ${inspect(this.toJSON(), opts)}`
  }
}

const MODE = { validate: 0, check: 1, explain: 2 }

/** Context as JSON text for the core (`undefined` when absent). */
function contextJson(context) {
  if (context === undefined || context === null) return undefined
  try {
    return JSON.stringify(context)
  } catch (e) {
    throw new ConfigError(`\`context\` is not JSON: ${e.message}`, 'invalid_argument', { cause: e })
  }
}

// ---- argument checks (types only; values are the core's to judge; shared ones in args.js) ----

// Node 20 has String.prototype.isWellFormed; Node 18 gets the same answer from a regex.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const isWellFormed =
  typeof String.prototype.isWellFormed === 'function' ? (v) => v.isWellFormed() : (v) => !LONE_SURROGATE.test(v)

/**
 * Text that UTF-8 cannot hold (a lone surrogate) is refused: Node-API would silently replace it with
 * U+FFFD, and ACT would then decide about a string that is not the one passed.
 */
function wellFormed(name, v) {
  if (!isWellFormed(v)) {
    throw new ConfigError(`\`${name}\` is not well-formed Unicode: it has a lone surrogate`, 'invalid_argument')
  }
  return v
}

function str(name, v) {
  if (typeof v !== 'string') throw bad(name, 'a string', v)
  return wellFormed(name, v)
}

/** An object as JSON text for the core (`undefined` when absent); JSON.stringify's failures are ConfigErrors. */
function jsonText(name, v) {
  if (v === undefined || v === null) return undefined
  try {
    return JSON.stringify(v)
  } catch (e) {
    throw new ConfigError(`\`${name}\` is not JSON: ${e.message}`, 'invalid_argument', { cause: e })
  }
}

/**
 * Options as JSON text. JSON has no NaN or Infinity (`JSON.stringify` would write `null`, which
 * reads as "not given"), so a number that is not finite is refused here, naming the option.
 */
function numbersJson(o) {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw bad(k, 'a finite number', v)
  }
  return JSON.stringify(o)
}

function optStr(name, v) {
  if (v === undefined || v === null) return undefined
  return str(name, v)
}

function optBool(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw bad(name, 'a boolean', v)
  return v
}

function optNum(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number') throw bad(name, 'a number', v)
  return v
}

function optObj(name, v) {
  if (v === undefined || v === null) return undefined
  if (!isPlainObject(v)) throw bad(name, 'a plain object', v)
  return v
}

/** A timeout in milliseconds (left out: the core's default; its bounds are the core's too). */
function millis(v) {
  if (v !== undefined && typeof v !== 'number') throw bad('timeoutMs', 'a number of milliseconds', v)
  return v
}

/** Options of the public API: left out means none. */
function options(name, v, allowed) {
  return v === undefined ? {} : knownOptions(name, v, allowed)
}

function call(what, fn) {
  try {
    return fn()
  } catch (e) {
    throw fromNative(e, what)
  }
}

async function callAsync(what, fn) {
  try {
    // Background tasks resolve to JSON text.
    return JSON.parse(await fn())
  } catch (e) {
    throw fromNative(e, what)
  }
}

// ---- keys and clocks ----

/** An Ed25519 private key that signs tokens and approvals. */
class SigningKey {
  constructor(inner) {
    if (!(inner instanceof native.NativeSigningKey)) {
      throw new ConfigError(
        'use SigningKey.generate(), fromSeed(), fromPem() or fromJwk() to make a key',
        'invalid_argument',
      )
    }
    this[NATIVE] = inner
    Object.freeze(this)
  }
  static generate() {
    return new SigningKey(call('SigningKey.generate', () => native.NativeSigningKey.generate()))
  }
  static fromSeed(seed) {
    if (!(seed instanceof Uint8Array)) throw bad('seed', 'a Uint8Array or Buffer of 32 bytes', seed)
    return new SigningKey(call('seed', () => native.NativeSigningKey.fromSeed(seed)))
  }
  static fromPem(pem) {
    str('pem', pem)
    return new SigningKey(call('pem', () => native.NativeSigningKey.fromPem(pem)))
  }
  static fromJwk(jwk) {
    let text = jwk
    if (isPlainObject(jwk)) text = jsonText('jwk', jwk)
    else if (typeof jwk !== 'string') throw bad('jwk', 'a JWK object or its JSON text', jwk)
    else wellFormed('jwk', jwk)
    return new SigningKey(call('jwk', () => native.NativeSigningKey.fromJwk(text)))
  }
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  toPem() {
    return this[NATIVE].toPem()
  }
  /** The private JWK, with `d` and `kid`. */
  toJwk() {
    return JSON.parse(this[NATIVE].toJwk())
  }
  /** The public JWK, with `kid`. */
  publicJwk() {
    return JSON.parse(this[NATIVE].publicJwk())
  }
  /** The public key as `ed25519:<base64url>`. */
  get publicKey() {
    return this[NATIVE].publicKey
  }
  /** The key id: the RFC 7638 thumbprint of the public key. */
  get kid() {
    return this[NATIVE].kid
  }
  toString() {
    return `SigningKey(${this.kid})`
  }
  toJSON() {
    return { kid: this.kid, publicKey: this.publicKey }
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString()
  }
}

function signingKey(name, v) {
  if (v === undefined || v === null) return undefined
  if (!(v instanceof SigningKey)) throw bad(name, 'a SigningKey', v)
  return v[NATIVE]
}

/** A public key as `ed25519:...`, from a SigningKey, that text, or a public JWK. */
function publicKey(name, v) {
  if (v === undefined || v === null) return undefined
  if (v instanceof SigningKey) return v.publicKey
  if (typeof v === 'string') return wellFormed(name, v)
  if (isPlainObject(v)) return jsonText(name, v)
  throw bad(name, 'a SigningKey, an `ed25519:...` public key or a public JWK', v)
}

/** A clock that moves only when told to, for tests: `new ACT({ clock })`. */
class ManualClock {
  constructor(ms = Date.now()) {
    if (typeof ms !== 'number') throw bad('ms', 'a number of milliseconds since the epoch', ms)
    this[NATIVE] = call('ms', () => new native.ManualClock(ms))
    Object.freeze(this)
  }
  /** Now, in milliseconds since the epoch. */
  now() {
    return this[NATIVE].now()
  }
  /** Moves the clock by `ms` milliseconds (negative goes back). */
  advance(ms) {
    if (typeof ms !== 'number') throw bad('ms', 'a number', ms)
    call('ms', () => this[NATIVE].advance(ms))
  }
  /** Sets the clock, in milliseconds since the epoch. */
  set(ms) {
    if (typeof ms !== 'number') throw bad('ms', 'a number', ms)
    call('ms', () => this[NATIVE].set(ms))
  }
}

// ---- the client ----

const ACT_OPTIONS = [
  'policyFile',
  'policy',
  'policyName',
  'signingKey',
  'trust',
  'audience',
  'issuer',
  'leeway',
  'maxDelegationDepth',
  'audit',
  'clock',
  'endpoint',
  'apiKey',
  'trustKey',
  'cacheDir',
  'maxStaleness',
  'watch',
  'counters',
  'issuerApiKey',
  'shipAudit',
  'auditKey',
]

function auditSinks(audit) {
  const files = []
  const callbacks = []
  const add = (a, name) => {
    if (typeof a === 'function') callbacks.push(a)
    else if (typeof a === 'string') files.push(wellFormed(name, a))
    else if (isPlainObject(a)) {
      const o = options(name, a, ['file', 'callback'])
      if (o.file !== undefined) files.push(str(`${name}.file`, o.file))
      if (o.callback !== undefined) {
        if (typeof o.callback !== 'function') throw bad(`${name}.callback`, 'a function', o.callback)
        callbacks.push(o.callback)
      }
    } else throw bad(name, 'a function, a file path, { file, callback } or an array of them', a)
  }
  if (Array.isArray(audit)) {
    for (const [i, a] of audit.entries()) add(a, `audit[${i}]`)
  } else if (audit !== undefined && audit !== null) add(audit, 'audit')
  return { files, callbacks }
}

function requestArgs(request) {
  if (!isPlainObject(request))
    throw bad('request', 'an object { token, action, resource, context?, approval? }', request)
  const { token, action, resource, context, approval } = request
  if (typeof token !== 'string') throw bad('token', 'a string', token)
  if (typeof action !== 'string') throw bad('action', 'a string', action)
  if (typeof resource !== 'string') throw bad('resource', 'a string', resource)
  if (context !== undefined && context !== null && !isPlainObject(context))
    throw bad('context', 'a plain object', context)
  if (approval !== undefined && approval !== null && typeof approval !== 'string') {
    throw bad('approval', 'a string (an approval token)', approval)
  }
  wellFormed('token', token)
  wellFormed('action', action)
  wellFormed('resource', resource)
  if (typeof approval === 'string') wellFormed('approval', approval)
  return request
}

class ACT {
  #n
  #audit

  /**
   * @param {import('./index').ACTOptions} opts
   */
  constructor(opts) {
    const o = options('options', opts, ACT_OPTIONS)
    const { files, callbacks } = auditSinks(o.audit)
    let trust
    if (o.trust !== undefined && o.trust !== null) {
      if (!Array.isArray(o.trust)) throw bad('trust', 'an array of public keys', o.trust)
      trust = o.trust.map((k, i) => publicKey(`trust[${i}]`, k))
    }
    if (o.clock !== undefined && o.clock !== null && !(o.clock instanceof ManualClock)) {
      throw bad('clock', 'a ManualClock', o.clock)
    }
    // The audit trampoline holds only this small state, never the client, so
    // an unclosed client can still be garbage collected.
    const state = { delivered: 0, callbackErrors: 0, callbacks }
    this.#audit = state
    const deliver =
      callbacks.length === 0
        ? undefined
        : (record) => {
            state.delivered++
            for (const cb of state.callbacks) {
              try {
                cb(record)
              } catch (e) {
                // Warn once per client; `status.auditCallbackErrors` counts them all.
                if (state.callbackErrors++ === 0) {
                  process.emitWarning(`act-sdk: an audit callback threw: ${e?.message}`, 'ActAuditWarning')
                }
              }
            }
          }
    // The plain-value options cross as JSON (the core's `ClientArgs`; it applies every rule).
    const plain = {
      policyFile: optStr('policyFile', o.policyFile),
      policy: optStr('policy', o.policy),
      policyName: optStr('policyName', o.policyName),
      audience: optStr('audience', o.audience),
      issuer: optStr('issuer', o.issuer),
      leeway: optNum('leeway', o.leeway),
      maxDelegationDepth: optNum('maxDelegationDepth', o.maxDelegationDepth),
      trust,
      auditFiles: files,
      endpoint: optStr('endpoint', o.endpoint),
      apiKey: optStr('apiKey', o.apiKey),
      trustKey: publicKey('trustKey', o.trustKey),
      cacheDir: optStr('cacheDir', o.cacheDir),
      maxStaleness: optNum('maxStaleness', o.maxStaleness),
      watch: optBool('watch', o.watch),
      counters: optStr('counters', o.counters),
      issuerApiKey: optStr('issuerApiKey', o.issuerApiKey),
      shipAudit: optBool('shipAudit', o.shipAudit),
    }
    const keys = [signingKey('signingKey', o.signingKey), signingKey('auditKey', o.auditKey)]
    const clock = o.clock ? o.clock[NATIVE] : undefined
    this.#n = call('options', () => new native.NativeAct(numbersJson(plain), keys[0], keys[1], clock, deliver))
  }

  /** Decides and enforces: consumes rate limits and approvals, writes the audit record. */
  validate(request) {
    const r = requestArgs(request)
    try {
      const context = contextJson(r.context)
      const s = this.#n.decide(MODE.validate, r.token, r.action, r.resource, context, r.approval ?? undefined)
      return new Decision(s, ENCODED)
    } catch (e) {
      throw fromNative(e, 'context')
    }
  }

  /** Decides without side effects (no counters, approvals, audit). */
  check(request) {
    return this.#dryRun(MODE.check, request)
  }

  /** Like `check`, with a `trace` of every rule and constraint looked at. */
  explain(request) {
    return this.#dryRun(MODE.explain, request)
  }

  #dryRun(mode, request) {
    const r = requestArgs(request)
    const context = contextJson(r.context)
    const s = call('context', () =>
      this.#n.decide(mode, r.token, r.action, r.resource, context, r.approval ?? undefined),
    )
    return new Decision(s, ENCODED)
  }

  /**
   * Issues a token for `agent`, acting for `userContext.user_id`, with the local `signingKey`.
   * In endpoint mode without one, use `await issueTokenAsync(...)`: the endpoint mints it.
   */
  issueToken(request) {
    const a = this.#issueArgs(request)
    if (call('issueToken', () => this.#n.issuesRemotely())) {
      throw new ConfigError(
        'in endpoint mode without `signingKey`, tokens are minted by the endpoint (POST /v1/tokens): use `await act.issueTokenAsync(...)` with `issuerApiKey`',
        'invalid_argument',
      )
    }
    const t = a.texts
    return call('issueToken', () => this.#n.issueToken(false, a.agent, t[0], t[1], t[2], a.ttl, a.holder))
  }

  /**
   * `issueToken` that also works in endpoint mode: without a local `signingKey` the endpoint mints
   * the token (`POST /v1/tokens` with `issuerApiKey`), off the event loop. Resolves to the token.
   */
  async issueTokenAsync(request) {
    const a = this.#issueArgs(request)
    const t = a.texts
    return callAsync('issueToken', () => this.#n.issueToken(true, a.agent, t[0], t[1], t[2], a.ttl, a.holder))
  }

  #issueArgs(request) {
    const o = options('issueToken options', request, [
      'agent',
      'userContext',
      'agentContext',
      'policy',
      'ttl',
      'holderKey',
    ])
    const agent = str('agent', o.agent)
    const userContext = optObj('userContext', o.userContext)
    if (userContext === undefined) throw bad('userContext', 'an object with `user_id`', o.userContext)
    const agentContext = optObj('agentContext', o.agentContext)
    const policy = optObj('policy', o.policy)
    const ttl = optNum('ttl', o.ttl)
    const holder = publicKey('holderKey', o.holderKey)
    const texts = [
      jsonText('userContext', userContext),
      jsonText('agentContext', agentContext),
      jsonText('policy', policy),
    ]
    return { agent, ttl, holder, texts }
  }

  /**
   * Asks the control endpoint for a human approval of an `approval_required` decision (its request
   * with the argument values the approver sees); resolves to a handle `{ id, status, expiresAtMs }`.
   */
  requestApproval(decision) {
    const request = decision instanceof Decision || isPlainObject(decision) ? decision.approvalRequest : undefined
    if (!isPlainObject(request)) throw bad('decision', 'an approval_required decision', decision)
    return callAsync('requestApproval', () => this.#n.requestApproval(jsonText('decision', request)))
  }

  /**
   * Long-polls the endpoint until the approval is decided, at most `timeoutMs` (default: the core's, 300000).
   * Resolves to the approval (pass it as `approval` with the same request); rejects with
   * `ApprovalDeniedError` (`reason`: the approver's) or `ApprovalTimeoutError`.
   */
  waitForApproval(handle, timeoutMs) {
    const id = typeof handle === 'string' ? handle : isPlainObject(handle) ? handle.id : undefined
    if (typeof id !== 'string') throw bad('handle', 'the handle requestApproval resolved to (or its id)', handle)
    wellFormed('handle', id)
    const ms = millis(timeoutMs)
    return callAsync('waitForApproval', () => this.#n.waitForApproval(id, ms))
  }

  /** The verified claims of a token: `{ jti, agent, subject, expiresAt, chain }`; throws `TokenError`. */
  inspectToken(token) {
    str('token', token)
    return call('inspectToken', () => this.#n.inspectToken(token))
  }

  /**
   * Resolves to true once audit records shipped to the endpoint were all delivered (at most
   * `timeoutMs`, default: the core's, 10000).
   */
  waitAuditDelivered(timeoutMs) {
    const ms = millis(timeoutMs)
    return callAsync('waitAuditDelivered', () => this.#n.waitAuditDelivered(ms))
  }

  /** This SDK instance's id, sent to the endpoint as `X-Act-Instance`. */
  get instanceId() {
    return this.#n.instanceId()
  }

  /** Hands a narrower token to a sub-agent, signed by `holderKey` (the key in the parent's `cnf`). */
  delegate(token, spec) {
    str('token', token)
    const o = options('delegate options', spec, [
      'holderKey',
      'agent',
      'agentContext',
      'policy',
      'ttl',
      'nextHolderKey',
    ])
    const holder = signingKey('holderKey', o.holderKey)
    if (holder === undefined) throw bad('holderKey', 'a SigningKey (the key named in the parent token)', o.holderKey)
    const agent = str('agent', o.agent)
    const agentContext = optObj('agentContext', o.agentContext)
    const policy = optObj('policy', o.policy)
    if (typeof o.ttl !== 'number') throw bad('ttl', 'a number of seconds', o.ttl)
    const next = publicKey('nextHolderKey', o.nextHolderKey)
    const texts = [jsonText('agentContext', agentContext), jsonText('policy', policy)]
    return call('delegate', () => this.#n.delegate(token, holder, agent, texts[0], texts[1], o.ttl, next))
  }

  /**
   * Seals `token` (whose last link names `holderKey`'s public key in `cnf`) so its holder can
   * present it: appends a link for the same agent, living at most `ttl` seconds (docs/tokens.md).
   */
  seal(token, spec) {
    str('token', token)
    const o = options('seal options', spec, ['holderKey', 'ttl'])
    const holder = signingKey('holderKey', o.holderKey)
    if (holder === undefined) throw bad('holderKey', 'a SigningKey (the key named in the token)', o.holderKey)
    if (typeof o.ttl !== 'number') throw bad('ttl', 'a number of seconds', o.ttl)
    return call('seal', () => this.#n.seal(token, holder, o.ttl))
  }

  /**
   * Signs an approval of one `approval_required` decision (pass the decision,
   * its `approvalRequest`, or the request id). Present it as `approval` with
   * exactly the same request; it works once.
   */
  approve(requestOrId, opts) {
    let id = requestOrId
    if (requestOrId instanceof Decision) id = requestOrId.approvalRequest?.id
    else if (isPlainObject(requestOrId)) {
      id = isPlainObject(requestOrId.approvalRequest) ? requestOrId.approvalRequest.id : requestOrId.id
    }
    if (typeof id !== 'string') throw bad('request', 'a decision, an approval request or its id', requestOrId)
    wellFormed('request', id)
    const o = options('approve options', opts, ['approver', 'ttl'])
    const approver = str('approver', o.approver)
    if (typeof o.ttl !== 'number') throw bad('ttl', 'a number of seconds', o.ttl)
    return call('approve', () => this.#n.approve(id, approver, o.ttl))
  }

  /**
   * Resolves once a policy snapshot serves (at once with a policy file; with `endpoint`, after the
   * first verified snapshot arrives, or from the cache), or after `timeoutMs` (default: the
   * core's, 5000). Resolves to the serving snapshot version; 0 means none yet (validations deny
   * `no_snapshot`).
   */
  ready(timeoutMs) {
    const ms = millis(timeoutMs)
    return callAsync('ready', () => this.#n.ready(ms))
  }

  /** Re-reads the policy file (or text) and swaps it in; resolves to the new snapshot version. */
  reload() {
    return callAsync('reload', () => this.#n.reload())
  }

  /** Resolves once every audit record so far reached every sink, JS callbacks included. */
  async flushAudit() {
    const sent = await callAsync('flushAudit', () => this.#n.flushAudit())
    await this.#delivered(sent)
  }

  /** Flushes and closes the audit sinks and stops the engine; later calls throw `invalid_argument`. */
  async close() {
    const sent = await callAsync('close', () => this.#n.close())
    await this.#delivered(sent)
  }

  async #delivered(sent) {
    // Records queued for the JS callback arrive on this thread, in order; wait for the last one.
    while (this.#audit.delivered < sent) await new Promise((resolve) => setImmediate(resolve))
  }

  /** The core's status, camelCase: exactly `STATUS_FIELDS` (the same fields in every language). */
  get status() {
    return call('status', () => this.#n.status())
  }

  /** The JS audit callbacks: records `delivered` to them and `errors` they threw. */
  get auditCallbacks() {
    return { delivered: this.#audit.delivered, errors: this.#audit.callbackErrors }
  }

  /** `guard(this, spec, fn)`. */
  guard(spec, fn) {
    return guard(this, spec, fn)
  }
}

// ---- guard ----

const GUARD_OPTIONS = ['action', 'resource', 'token', 'context', 'approval']

function resolve(v, args) {
  return typeof v === 'function' ? v(...args) : v
}

/**
 * Wraps an async tool function so every call is validated first. Each of
 * `action`, `resource`, `token`, `context` and `approval` is a value or a
 * function of the tool's arguments. `context` defaults to the first argument
 * when it is a plain object (the tool call's validated arguments). A deny
 * throws `DeniedError`, an approval_required `ApprovalRequiredError`.
 */
function guard(act, spec, fn) {
  if (!(act instanceof ACT)) throw bad('act', 'an ACT client', act)
  const o = options('guard options', spec, GUARD_OPTIONS)
  if (typeof fn !== 'function') throw bad('fn', 'a function', fn)
  for (const k of ['action', 'resource', 'token']) {
    if (typeof o[k] !== 'string' && typeof o[k] !== 'function')
      throw bad(k, 'a string or a function of the arguments', o[k])
  }
  const guarded = async function (...args) {
    const context = o.context === undefined ? (isPlainObject(args[0]) ? args[0] : undefined) : resolve(o.context, args)
    const decision = act.validate({
      token: resolve(o.token, args),
      action: resolve(o.action, args),
      resource: resolve(o.resource, args),
      context,
      approval: resolve(o.approval, args),
    })
    if (decision.outcome === 'allow') return await fn.apply(this, args)
    if (decision.outcome === 'approval_required') throw new ApprovalRequiredError(decision)
    throw new DeniedError(decision)
  }
  Object.defineProperty(guarded, 'name', { value: fn.name ? `guarded ${fn.name}` : 'guarded' })
  return guarded
}

// ---- audit log checks ----

/**
 * Checks a JSON Lines audit log's hash chain, and with `checkpoints` (the `<log>.checkpoints` text)
 * and `auditKey` (its public key) every signed checkpoint; returns the record count or throws
 * `AuditChainError`.
 */
function verifyAuditLog(text, opts) {
  str('text', text)
  const o = options('verifyAuditLog options', opts, ['start', 'checkpoints', 'auditKey'])
  const start = optStr('start', o.start)
  const checkpoints = optStr('checkpoints', o.checkpoints)
  const auditKey = publicKey('auditKey', o.auditKey)
  return call('verifyAuditLog', () => native.verifyAuditLog(text, start, checkpoints, auditKey))
}

module.exports = {
  ACT,
  SigningKey,
  ManualClock,
  guard,
  verifyAuditLog,
  REASONS,
  GENESIS_HASH: native.GENESIS_HASH,
  ActError: errors.ActError,
  PolicyError: errors.PolicyError,
  TokenError: errors.TokenError,
  KeyError: errors.KeyError,
  ConfigError: errors.ConfigError,
  SnapshotError: errors.SnapshotError,
  IoError: errors.IoError,
  InternalError: errors.InternalError,
  AuditChainError: errors.AuditChainError,
  CounterStoreError: errors.CounterStoreError,
  EndpointError: errors.EndpointError,
  ApprovalDeniedError: errors.ApprovalDeniedError,
  ApprovalTimeoutError: errors.ApprovalTimeoutError,
  STATUS_FIELDS: Object.freeze(native.statusFields()),
  DeniedError,
  ApprovalRequiredError,
}
