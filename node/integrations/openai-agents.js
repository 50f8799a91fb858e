'use strict'
// act-sdk/openai-agents: ACT for the OpenAI Agents SDK for JavaScript (`@openai/agents`).
//
//   const guard = createGuard(act, { token: (input, { runContext }) => runContext.context.actToken })
//   const refund = tool(guard.wrap({ name, description, parameters, execute }, { resource }))
//
// `guard.wrap` returns the options for the SDK's own `tool()` with two hooks:
// - `needsApproval` (the SDK's human-approval path) asks `act.check`: an
//   approval_required decision makes the run stop with an interruption
//   (`result.interruptions`); the request is recorded in the audit log;
// - `execute` validates for real right before the tool runs (limits consumed,
//   approvals used once, the audit record written). Only an allow runs the
//   tool; otherwise the model gets the reason code and the core's sentence as
//   the tool's output, and an error of the engine or of the spec functions is
//   reported the same way (fail closed).
// A human approves with `guard.approve(interruption, { approver, ttl })` (an
// ACT approval signed for exactly that call; in endpoint mode `guard.approve(interruption,
// { timeoutMs })` asks the endpoint's operators and waits for their answer instead) and
// `result.state.approve(interruption)`;
// approving only in the SDK runs nothing. The SDK itself is not required
// here, so there is one copy of its classes: yours.

const { ConfigError, DeniedError } = require('../errors.js')
const {
  checkAct,
  checkSpec,
  options,
  decide,
  refusalText,
  errorText,
  checkStore,
  approveOptions,
  endpointMode,
  approvalToken,
  bad,
  isPlainObject,
} = require('./common.js')

/**
 * A guard for Agents SDK tools. `opts.token`: the default token, a string or
 * `(input, { toolName, callId, runContext }) => string` (e.g. from
 * `runContext.context`). `opts.approvals`: where approval tokens wait for their
 * call (a Map-like store; default a new Map).
 */
function createGuard(act, opts) {
  checkAct(act)
  const o = options('createGuard options', opts ?? {}, ['token', 'approvals'])
  const approvals = checkStore('approvals', o.approvals)
  const specs = new Map()
  // Approval requests of calls that stopped for a human, by call id (what `approve` signs).
  const pending = new Map()

  /**
   * The options for `tool()`, guarded: `spec` says how a call becomes an ACT
   * request (`resource` required; `action` defaults to the tool name, `context`
   * to the validated input, `token` to the guard's; each a value or a function
   * `(input, { toolName, callId, runContext })`).
   */
  function wrap(toolOptions, spec) {
    if (!isPlainObject(toolOptions)) throw bad('toolOptions', 'the options object for tool()', toolOptions)
    const { execute } = toolOptions
    if (typeof execute !== 'function') throw bad('toolOptions.execute', 'a function', execute)
    if (toolOptions.needsApproval !== undefined) {
      throw new ConfigError(
        'leave `needsApproval` out: the ACT policy decides which calls need a human',
        'invalid_argument',
      )
    }
    const name = toolOptions.name
    if (typeof name !== 'string' || name === '')
      throw bad('toolOptions.name', 'the tool name (a non-empty string)', name)
    if (specs.has(name)) throw new ConfigError(`tool \`${name}\` is already guarded by this guard`, 'invalid_argument')
    const s = checkSpec(`spec of ${name}`, spec, { action: name, token: o.token })
    specs.set(name, s)

    const needsApproval = async (runContext, input, callId) => {
      const info = { toolName: name, callId, runContext }
      const r = decide(act, 'check', s, input, info)
      // A deny or an error is decided (and reported to the model) by execute.
      if (r.error || r.decision.outcome !== 'approval_required') return false
      const v = decide(act, 'validate', s, input, info)
      if (v.error || v.decision.outcome !== 'approval_required') return false
      if (callId !== undefined) pending.set(callId, v.decision)
      return true
    }

    const guardedExecute = async function (input, runContext, details) {
      const callId = details?.toolCall ? details.toolCall.callId : undefined
      const info = { toolName: name, callId, runContext }
      const approval = callId === undefined ? undefined : await approvals.get(callId)
      const r = decide(act, 'validate', s, input, info, approval)
      if (callId !== undefined) {
        pending.delete(callId)
        if (approval !== undefined && approval !== null) await approvals.delete(callId)
      }
      if (r.error) return errorText(r.error)
      if (r.decision.outcome !== 'allow') return refusalText(r.decision)
      return execute.call(this, input, runContext, details)
    }
    Object.defineProperty(guardedExecute, 'name', { value: execute.name || name })

    return { ...toolOptions, needsApproval, execute: guardedExecute }
  }

  /**
   * A human approves one interruption: signs an ACT approval for exactly that
   * call (used once, when it runs) and returns the approval token (null when
   * the call needs none by now; a `DeniedError` when it is denied by now, e.g.
   * the daily limit was reached: reject it instead). Call
   * `result.state.approve(interruption)` too, then resume the run. Pass
   * `context` (the run's context object) when this process did not run the
   * call that stopped (a run state restored elsewhere).
   */
  async function approve(interruption, approveOpts) {
    const { context, ...rest } = approveOpts ?? {}
    const endpoint = endpointMode(act)
    const ao = approveOptions(rest, endpoint)
    const raw = interruption?.rawItem
    if (!raw || interruption.type !== 'tool_approval_item' || typeof raw.callId !== 'string') {
      throw bad('interruption', 'an item of `result.interruptions`', interruption)
    }
    let d = pending.get(raw.callId)
    if (d === undefined) {
      const s = specs.get(raw.name)
      if (s === undefined)
        throw new ConfigError(`tool \`${raw.name}\` is not guarded by this guard`, 'invalid_argument')
      let input
      try {
        input = JSON.parse(raw.arguments)
      } catch (e) {
        throw new ConfigError(`the arguments of call ${raw.callId} are not JSON: ${e.message}`, 'invalid_argument', {
          cause: e,
        })
      }
      const r = decide(act, 'check', s, input, { toolName: raw.name, callId: raw.callId, runContext: { context } })
      if (r.error) throw r.error
      d = r.decision
    }
    if (d.outcome === 'allow') return null
    if (d.outcome === 'deny') throw new DeniedError(d)
    const token = await approvalToken(act, d, ao, endpoint)
    await approvals.set(raw.callId, token)
    pending.delete(raw.callId)
    return token
  }

  return Object.freeze({ wrap, approve, approvals })
}

module.exports = { createGuard }
