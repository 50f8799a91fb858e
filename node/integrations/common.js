'use strict'
// What the framework guards (mcp.js, ai-sdk.js, openai-agents.js) share: how a
// tool call becomes an ACT request, the text a model gets back for a deny,
// and the store of approval tokens. No policy logic lives here: every
// decision is `act.check` / `act.validate` of the native core.

const { ACT } = require('../index.js')
const { ActError } = require('../errors.js')
const { bad, isPlainObject, knownOptions: options } = require('../args.js')

function checkAct(act) {
  if (!(act instanceof ACT)) throw bad('act', 'an ACT client (new ACT({...}))', act)
  return act
}

const SPEC_KEYS = ['token', 'action', 'resource', 'context']

/**
 * Checks a guard spec: `token`, `action` and `resource` are strings or
 * functions of `(input, info)`; `context` (optional) is an object or such a
 * function. `defaults` fills keys the spec leaves out (e.g. the tool name as
 * `action`). Returns a frozen copy.
 */
function checkSpec(name, spec, defaults, extraKeys = []) {
  const o = options(name, spec, [...SPEC_KEYS, ...extraKeys])
  const s = { ...defaults }
  for (const [k, v] of Object.entries(o)) if (v !== undefined) s[k] = v
  for (const k of ['token', 'action', 'resource']) {
    if (typeof s[k] !== 'string' && typeof s[k] !== 'function') {
      throw bad(`${name}.${k}`, 'a string or a function (input, info) => string', s[k])
    }
  }
  if (s.context !== undefined && s.context !== null && typeof s.context !== 'function' && !isPlainObject(s.context)) {
    throw bad(`${name}.context`, 'a plain object or a function (input, info) => object', s.context)
  }
  return Object.freeze(s)
}

/**
 * The ACT request for one tool call. `context` defaults to the tool's
 * validated input when that is a plain object (what the framework parsed
 * against the tool's schema, never the model's free text).
 */
function toRequest(spec, input, info) {
  const at = (v) => (typeof v === 'function' ? v(input, info) : v)
  const context = spec.context === undefined ? (isPlainObject(input) ? input : undefined) : at(spec.context)
  return { token: at(spec.token), action: at(spec.action), resource: at(spec.resource), context }
}

/** What the model reads when a call is not made: the reason code and the core's sentence. */
function refusalText(decision) {
  if (decision.outcome === 'approval_required') {
    return `ACT: this call needs a human's approval first (approval_required): ${decision.message}`
  }
  return `ACT denied this call (${decision.reason}): ${decision.message}`
}

/** What the model reads when the check itself failed: the call was not made (fail closed). */
function errorText(e) {
  // An ActError names its stable code; anything else (a spec function that threw) its class.
  const code = ActError.isActError(e) ? e.code : e instanceof Error ? e.name : typeof e
  const message = e instanceof Error ? e.message : String(e)
  return `ACT could not check this call, so it was not made (${code}): ${message}`
}

/**
 * Decides one tool call with `act[method]` ('check' or 'validate'). Never
 * throws: an error of the spec functions or the engine becomes `{ error }`,
 * which every guard treats as a deny.
 */
function decide(act, method, spec, input, info, approval) {
  try {
    const request = toRequest(spec, input, info)
    if (approval !== undefined && approval !== null) request.approval = approval
    return { decision: act[method](request) }
  } catch (e) {
    return { error: e }
  }
}

/** A Map-like store of approval tokens, keyed by the framework's tool call id. */
function checkStore(name, store) {
  if (store === undefined || store === null) return new Map()
  for (const m of ['get', 'set', 'delete']) {
    if (typeof store[m] !== 'function') {
      throw bad(name, 'a Map-like store with get, set and delete', store)
    }
  }
  return store
}

/** True when `act` runs against a control endpoint: approvals then come from its operators. */
function endpointMode(act) {
  return act.status.mode === 'endpoint'
}

/**
 * Checks `approve` options and returns them (the core checks the values). In endpoint mode the
 * operator signs, so the only option is `timeoutMs` (how long to wait for them, default 300000);
 * embedded, this process signs: `approver` and `ttl` are required.
 */
function approveOptions(opts, endpoint) {
  if (endpoint) {
    const o = options('approve options (endpoint mode)', opts ?? {}, ['timeoutMs'])
    if (o.timeoutMs !== undefined && typeof o.timeoutMs !== 'number')
      throw bad('timeoutMs', 'a number of milliseconds', o.timeoutMs)
    return o
  }
  const o = options('approve options', opts ?? {}, ['approver', 'ttl'])
  if (typeof o.approver !== 'string') throw bad('approver', 'a string naming who approved', o.approver)
  if (typeof o.ttl !== 'number') throw bad('ttl', 'a number of seconds', o.ttl)
  return o
}

/**
 * The approval token for an `approval_required` decision: embedded, signed here
 * (`act.approve`); in endpoint mode asked of the endpoint's operators (`requestApproval`, then
 * `waitForApproval`), so the agent's process never signs its own approvals. A denial or timeout
 * rejects with `ApprovalDeniedError` / `ApprovalTimeoutError`.
 */
async function approvalToken(act, decision, o, endpoint) {
  if (!endpoint) return act.approve(decision, o)
  const handle = await act.requestApproval(decision)
  return act.waitForApproval(handle, o.timeoutMs ?? 300000)
}

module.exports = {
  bad,
  isPlainObject,
  checkAct,
  options,
  checkSpec,
  toRequest,
  refusalText,
  errorText,
  decide,
  checkStore,
  approveOptions,
  endpointMode,
  approvalToken,
}
