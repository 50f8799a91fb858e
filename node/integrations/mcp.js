'use strict'
// act-sdk/mcp: ACT for MCP servers built with @modelcontextprotocol/sdk.
//
//   registerTool(server, act, name, config, spec, handler)
//
// registers `handler` through `server.registerTool(name, config, ...)` so that
// every call is validated first:
// - allow: the handler runs;
// - deny: the handler does not run; the client (and its model) gets an
//   `isError` result whose text names the reason code and the core's sentence;
// - approval_required: the human is asked through MCP elicitation (the
//   client's user sees the action, resource and condition and accepts or
//   declines); on accept, `act.approve` signs an approval for exactly this
//   request and the call is validated again with it. With an ACT in endpoint
//   mode the default is `approval: 'endpoint'`: the request goes to the control
//   endpoint's operators (`requestApproval`) and the call waits for their answer
//   (`waitForApproval`, at most `approvalTimeoutMs`). Pass `approval: fn` to
//   route the request elsewhere (a supervisor) and return an approval token;
// - an error of the engine or of the spec functions: the handler does not run
//   and the result says so (fail closed).
// The MCP SDK is not required here: `server` is the caller's McpServer.

const { checkAct, checkSpec, decide, refusalText, errorText, bad, endpointMode, approvalToken } = require('./common.js')

const SPEC_EXTRA = ['approval', 'approver', 'approvalTtl', 'approvalTimeoutMs']

function errorResult(text) {
  return { content: [{ type: 'text', text }], isError: true }
}

/** The elicitation form a human sees for one approval request. */
function elicitation(request) {
  return {
    mode: 'form',
    message:
      `Approve this action? Agent ${request.agent} (acting for ${request.subject}) wants to ` +
      `${request.action} on ${request.resource}; the policy asks a human when ${request.condition}.`,
    requestedSchema: {
      type: 'object',
      properties: {
        approve: {
          type: 'boolean',
          title: 'Approve',
          description: `Allow ${request.action} on ${request.resource}, once`,
        },
      },
      required: ['approve'],
    },
  }
}

/**
 * Asks the MCP client's user through elicitation. Resolves to an approval
 * token, or to `{ refused }` saying why there is none.
 */
async function elicitApproval(server, act, spec, decision, extra) {
  const low = server?.server
  if (!low || typeof low.elicitInput !== 'function') {
    return { refused: 'the server object cannot send elicitation requests' }
  }
  const caps = typeof low.getClientCapabilities === 'function' ? low.getClientCapabilities() : undefined
  if (!caps?.elicitation?.form) {
    return { refused: 'the MCP client cannot ask its user (no form elicitation capability)' }
  }
  const result = await low.elicitInput(elicitation(decision.approvalRequest), {
    relatedRequestId: extra?.requestId,
    signal: extra?.signal,
  })
  if (result.action !== 'accept' || !result.content || result.content.approve !== true) {
    return { refused: `the user did not approve (${result.action === 'accept' ? 'approve: false' : result.action})` }
  }
  const approver = typeof spec.approver === 'function' ? spec.approver(extra) : spec.approver
  return { token: act.approve(decision, { approver, ttl: spec.approvalTtl }) }
}

async function approvalFor(server, act, spec, decision, input, extra) {
  if (spec.approval === 'deny') return { refused: 'this tool takes no approvals (approval: "deny")' }
  if (spec.approval === 'elicit') return elicitApproval(server, act, spec, decision, extra)
  if (spec.approval === 'endpoint') {
    return { token: await approvalToken(act, decision, { timeoutMs: spec.approvalTimeoutMs }, true) }
  }
  const token = await spec.approval({ decision, approvalRequest: decision.approvalRequest, input, extra })
  if (token === undefined || token === null) return { refused: 'not approved' }
  if (typeof token !== 'string') throw bad('approval() result', 'an approval token (string), null or undefined', token)
  return { token }
}

/**
 * The guarded MCP tool callback `(input, extra)` (or `(extra)` when
 * `hasInput` is false, as the SDK calls tools without an input schema).
 */
function guardCallback(server, act, name, spec, handler, hasInput) {
  const guarded = async (input, extra) => {
    const info = { toolName: name, extra }
    let r = decide(act, 'validate', spec, input, info)
    if (r.error) return errorResult(errorText(r.error))
    let d = r.decision
    if (d.outcome === 'approval_required') {
      let got
      try {
        got = await approvalFor(server, act, spec, d, input, extra)
      } catch (e) {
        return errorResult(errorText(e))
      }
      if (got.token === undefined) return errorResult(`${refusalText(d)} (not approved: ${got.refused})`)
      r = decide(act, 'validate', spec, input, info, got.token)
      if (r.error) return errorResult(errorText(r.error))
      d = r.decision
    }
    if (d.outcome !== 'allow') return errorResult(refusalText(d))
    return hasInput ? handler(input, extra) : handler(extra)
  }
  return hasInput ? guarded : (extra) => guarded(undefined, extra)
}

function checkMcpSpec(act, name, spec) {
  const approval = endpointMode(act) ? 'endpoint' : 'elicit'
  const s = checkSpec(
    'spec',
    spec,
    { action: name, approval, approver: 'mcp-client-user', approvalTtl: 300, approvalTimeoutMs: 300000 },
    SPEC_EXTRA,
  )
  if (!['elicit', 'endpoint', 'deny'].includes(s.approval) && typeof s.approval !== 'function') {
    throw bad(
      'spec.approval',
      '"elicit", "endpoint", "deny" or an async function returning an approval token',
      s.approval,
    )
  }
  if (typeof s.approvalTimeoutMs !== 'number')
    throw bad('spec.approvalTimeoutMs', 'a number of milliseconds', s.approvalTimeoutMs)
  if (typeof s.approver !== 'string' && typeof s.approver !== 'function') {
    throw bad('spec.approver', 'a string or a function (extra) => string', s.approver)
  }
  if (typeof s.approvalTtl !== 'number') throw bad('spec.approvalTtl', 'a number of seconds', s.approvalTtl)
  return s
}

/**
 * `server.registerTool(name, config, handler)`, with every call validated by
 * `act` first. `spec`: `token`, `resource` (required), `action` (default: the
 * tool name), `context` (default: the validated input), each a value or a
 * function `(input, { toolName, extra })`; `approval`: `'elicit'` (default
 * embedded), `'endpoint'` (default in endpoint mode; waits at most `approvalTimeoutMs`,
 * default 300000), `'deny'`, or `async ({ decision, approvalRequest, input, extra }) => token | null`;
 * `approver` (default `'mcp-client-user'`) and `approvalTtl` (seconds, default
 * 300) for approvals signed after an elicitation.
 */
function registerTool(server, act, name, config, spec, handler) {
  if (!server || typeof server.registerTool !== 'function') throw bad('server', 'an McpServer', server)
  checkAct(act)
  if (typeof name !== 'string') throw bad('name', 'a string', name)
  if (config === null || typeof config !== 'object') throw bad('config', 'the registerTool config object', config)
  if (typeof handler !== 'function') throw bad('handler', 'a function', handler)
  const s = checkMcpSpec(act, name, spec)
  const hasInput = config.inputSchema !== undefined
  return server.registerTool(name, config, guardCallback(server, act, name, s, handler, hasInput))
}

module.exports = { registerTool }
