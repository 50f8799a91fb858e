'use strict'
// act-sdk/ai-sdk: ACT for the Vercel AI SDK (`ai`, version 7).
//
//   const guard = guardTools(act, { token, tools: { name: { tool, resource, ... } } })
//   generateText({ model, tools: guard.tools, toolApproval: guard.toolApproval, messages })
//
// - `guard.toolApproval` (the AI SDK's approval hook) asks `act.check` for each
//   tool call the model proposes: a deny becomes the SDK's `denied` status with
//   the reason code and the core's sentence as its reason, which the model
//   reads; `approval_required` becomes `user-approval`, the SDK's human path
//   (a `tool-approval-request` in the result); an allow runs the tool.
// - `guard.tools` are the same tools with `execute` wrapped: right before the
//   tool runs, `act.validate` decides for real (rate limits are consumed,
//   approvals are used once, the audit record is written). Only an allow runs
//   the tool; anything else throws, and the model reads the reason as the tool
//   error. The SDK treats a re-evaluated `user-approval` as approved, so this is
//   where an ACT approval is required: without one, nothing runs.
// - `guard.approve(request, { approver, ttl })` is the human saying yes: it signs
//   an ACT approval for exactly that call and returns the `tool-approval-response`
//   to append to the messages. In endpoint mode (`guard.approve(request, { timeoutMs })`)
//   it asks the endpoint's operators instead and waits for their answer (a denial
//   rejects with `ApprovalDeniedError`): the agent's process signs nothing.
// Errors of the engine or of the spec functions deny (fail closed). The `ai`
// package itself is not required here.

const { ConfigError, DeniedError, ApprovalRequiredError } = require('../errors.js')
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

const own = (o, k) => (o != null && Object.hasOwn(o, k) ? o[k] : undefined)

/** The error a guarded `execute` throws when the call is not allowed; the model reads its message. */
/** True when `messages` already hold an approval request for this tool call (the SDK is re-evaluating it). */
function answered(messages, toolCallId) {
  if (!Array.isArray(messages)) return false
  for (const m of messages) {
    if (m && m.role === 'assistant' && Array.isArray(m.content)) {
      for (const p of m.content) if (p && p.type === 'tool-approval-request' && p.toolCallId === toolCallId) return true
    }
  }
  return false
}

function refusal(decision) {
  const e = decision.outcome === 'approval_required' ? new ApprovalRequiredError(decision) : new DeniedError(decision)
  e.message = refusalText(decision)
  return e
}

/** The error a guarded `execute` throws when the check itself failed; `cause` is the original. */
function refusalError(e) {
  return new Error(errorText(e), { cause: e })
}

/**
 * Guards AI SDK tools with `act`. `opts.tools` maps each tool name to
 * `{ tool, resource, action?, context?, token? }`: the AI SDK tool (it must have
 * `execute`) and how its calls become ACT requests (`action` defaults to the
 * tool name, `context` to the validated input; each is a value or a function
 * `(input, { toolName, toolCallId, toolContext })`). `opts.token` is the default
 * token. `opts.approvals` is where approval tokens wait for their call (a
 * Map-like store, default a new Map; share one across processes for approvals
 * that resume elsewhere).
 */
function guardTools(act, opts) {
  checkAct(act)
  const o = options('guardTools options', opts, ['token', 'tools', 'approvals'])
  if (!isPlainObject(o.tools) || Object.keys(o.tools).length === 0) {
    throw bad('tools', 'an object mapping tool names to { tool, resource, ... }', o.tools)
  }
  const approvals = checkStore('approvals', o.approvals)
  const specs = Object.create(null)
  const tools = {}
  for (const [name, entry] of Object.entries(o.tools)) {
    if (!isPlainObject(entry)) throw bad(`tools.${name}`, 'an object { tool, resource, ... }', entry)
    const { tool, ...spec } = entry
    if (tool === null || typeof tool !== 'object')
      throw bad(`tools.${name}.tool`, 'an AI SDK tool (from tool({...}))', tool)
    if (typeof tool.execute !== 'function') {
      throw new ConfigError(
        `tool \`${name}\` has no \`execute\`: ACT guards tools that run in this process (a client-side tool is out of its reach)`,
        'invalid_argument',
      )
    }
    const s = checkSpec(`tools.${name}`, spec, { action: name, token: o.token })
    specs[name] = s
    const execute = tool.execute
    tools[name] = {
      ...tool,
      execute: async function guardedExecute(input, options) {
        const toolCallId = options?.toolCallId
        const info = { toolName: name, toolCallId, toolContext: options?.context }
        const approval = toolCallId === undefined ? undefined : await approvals.get(toolCallId)
        const r = decide(act, 'validate', s, input, info, approval)
        if (approval !== undefined && approval !== null) await approvals.delete(toolCallId)
        if (r.error) throw refusalError(r.error)
        if (r.decision.outcome !== 'allow') throw refusal(r.decision)
        return execute.call(this, input, options)
      },
    }
  }

  /**
   * The AI SDK `toolApproval` hook. An allow runs the tool (its `execute`
   * validates for real); a deny or approval_required is validated here, so the
   * audit log records it. When the SDK re-evaluates a call a human already
   * answered, only `act.check` runs (no second record).
   */
  const toolApproval = ({ toolCall, toolsContext, messages }) => {
    const name = toolCall.toolName
    const s = specs[name]
    if (s === undefined) {
      return { type: 'denied', reason: `ACT denied this call (no_guard): tool \`${name}\` is not guarded by ACT` }
    }
    const info = { toolName: name, toolCallId: toolCall.toolCallId, toolContext: own(toolsContext, name) }
    let r = decide(act, 'check', s, toolCall.input, info)
    if (!r.error && r.decision.outcome !== 'allow' && !answered(messages, toolCall.toolCallId)) {
      r = decide(act, 'validate', s, toolCall.input, info)
    }
    if (r.error) return { type: 'denied', reason: errorText(r.error) }
    const d = r.decision
    if (d.outcome === 'allow') return { type: 'not-applicable' }
    if (d.outcome === 'approval_required') return { type: 'user-approval', reason: d.message }
    return { type: 'denied', reason: refusalText(d) }
  }

  /** The ACT approval request behind one `tool-approval-request` part (null when the call needs none now). */
  const approvalRequest = (part) => {
    const { name, s, call } = requestPart(part)
    const r = decide(act, 'check', s, call.input, {
      toolName: name,
      toolCallId: call.toolCallId,
      toolContext: undefined,
    })
    if (r.error) throw r.error
    return r.decision.approvalRequest
  }

  /**
   * A human approves one `tool-approval-request` part: signs an ACT approval for
   * exactly that call (kept until the call runs, once) and returns the
   * `tool-approval-response` to append to the messages. If the call is denied by
   * now (e.g. the daily limit was reached), the response says so and is not an approval.
   */
  const approve = async (part, approveOpts) => {
    const endpoint = endpointMode(act)
    const o2 = approveOptions(approveOpts, endpoint)
    const { name, s, call } = requestPart(part)
    const r = decide(act, 'check', s, call.input, {
      toolName: name,
      toolCallId: call.toolCallId,
      toolContext: undefined,
    })
    if (r.error) throw r.error
    const d = r.decision
    const response = { type: 'tool-approval-response', approvalId: part.approvalId }
    if (d.outcome === 'deny') return { ...response, approved: false, reason: refusalText(d) }
    if (d.outcome === 'approval_required')
      await approvals.set(call.toolCallId, await approvalToken(act, d, o2, endpoint))
    return {
      ...response,
      approved: true,
      reason: endpoint ? 'approved at the control endpoint' : `approved by ${o2.approver}`,
    }
  }

  function requestPart(part) {
    if (!isPlainObject(part) || part.type !== 'tool-approval-request' || !isPlainObject(part.toolCall)) {
      throw bad('part', "a `tool-approval-request` part from the result's content", part)
    }
    if (part.isAutomatic)
      throw new ConfigError('this approval request was decided automatically; it needs no response', 'invalid_argument')
    const call = part.toolCall
    const s = specs[call.toolName]
    if (s === undefined)
      throw new ConfigError(`tool \`${call.toolName}\` is not guarded by this guard`, 'invalid_argument')
    return { name: call.toolName, s, call }
  }

  return Object.freeze({ tools, toolApproval, approve, approvalRequest, approvals })
}

module.exports = { guardTools }
