// act-sdk/ai-sdk against the real Vercel AI SDK (`ai` 7): generateText with a
// MockLanguageModelV4 from `ai/test` that proposes tool calls (no network, no
// model). The test asserts whether the tool ran, what the model read back (the
// reason code), that approval goes through the SDK's tool-approval-request /
// tool-approval-response path, and that an ACT approval is what lets it run.

import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateText, isStepCount, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { z } from 'zod'
import { ACT, SigningKey, ConfigError } from 'act-sdk'
import { guardTools } from 'act-sdk/ai-sdk'
import { sessionTools, chat } from '../../integrations/examples/ai-sdk-agent.mjs'

const POLICY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'integrations',
  'examples',
  'policies.yaml',
)
const USAGE = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
}

function setup() {
  const records = []
  const act = new ACT({ policyFile: POLICY, signingKey: SigningKey.generate(), audit: (r) => records.push(r) })
  const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  return { act, token, records }
}

const refundCall = (id, input) => ({
  type: 'tool-call',
  toolCallId: id,
  toolName: 'process_refund',
  input: JSON.stringify(input),
})

/** A fake model that answers each call with the next scripted content; it records every prompt it got. */
function scripted(...steps) {
  const prompts = []
  const model = new MockLanguageModelV4({
    doGenerate: async ({ prompt }) => {
      prompts.push(prompt)
      const step = steps[prompts.length - 1]
      if (step === undefined) throw new Error(`the model was called ${prompts.length} times; ${steps.length} scripted`)
      const content = typeof step === 'string' ? [{ type: 'text', text: step }] : step
      const calls = content.some((c) => c.type === 'tool-call')
      return {
        content,
        finishReason: { unified: calls ? 'tool-calls' : 'stop', raw: undefined },
        usage: USAGE,
        warnings: [],
      }
    },
  })
  return { model, prompts }
}

/** What the model read back for one tool call in its latest prompt. */
function toolOutput(prompts, toolCallId) {
  for (const m of prompts.at(-1)) {
    if (m.role !== 'tool') continue
    for (const p of m.content) if (p.type === 'tool-result' && p.toolCallId === toolCallId) return p.output
  }
  return undefined
}

/** Guarded tools whose process_refund records what ran. */
function refundGuard(act, extra = {}) {
  const ran = []
  const guard = guardTools(act, {
    token: extra.token,
    approvals: extra.approvals,
    tools: {
      process_refund: {
        tool: tool({
          inputSchema: z.object({ order: z.string(), amount: z.number() }),
          execute: async ({ order, amount }) => {
            ran.push([order, amount])
            return `refunded ${amount}`
          },
        }),
        resource: ({ order }) => `order://customer:42/${order}`,
        ...(extra.spec ?? {}),
      },
    },
  })
  return { guard, ran }
}

test('the docs example: an allowed refund runs and the model reads its result; one over maxAmount is denied with the reason', async () => {
  const { act, token, records } = setup()
  const guard = sessionTools({ act, token, userId: '42' })
  const { model, prompts } = scripted(
    [refundCall('c1', { order: '1001', amount: 40 })],
    'Refunded.',
    [refundCall('c2', { order: '1002', amount: 900 })],
    'Sorry.',
  )
  const messages = [{ role: 'user', content: 'Refund 40 on order 1001' }]
  const askHuman = () => assert.fail('no approval expected')

  assert.equal(await chat({ model, guard, messages, askHuman }), 'Refunded.')
  assert.deepEqual(toolOutput(prompts, 'c1'), { type: 'text', value: 'refunded 40 on order 1001' })

  messages.push({ role: 'user', content: 'Now refund 900 on order 1002' })
  assert.equal(await chat({ model, guard, messages, askHuman }), 'Sorry.')
  const denied = toolOutput(prompts, 'c2')
  assert.equal(denied.type, 'execution-denied')
  assert.match(denied.reason, /^ACT denied this call \(constraint_failed\): .*maxAmount/)

  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => [r.reason, r.resource]),
    [
      ['allowed', 'order://customer:42/1001'],
      ['constraint_failed', 'order://customer:42/1002'],
    ],
  )
  await act.close()
})

test('the docs example: approval_required goes to the human as a tool-approval-request; approved, the tool runs once with an ACT approval', async () => {
  const { act, token, records } = setup()
  const guard = sessionTools({ act, token, userId: '42' })
  const { model, prompts } = scripted([refundCall('c1', { order: '1003', amount: 120 })], 'Done.')
  const asked = []
  const messages = [{ role: 'user', content: 'Refund 120 on order 1003' }]
  const reply = await chat({
    model,
    guard,
    messages,
    askHuman: (part) => {
      asked.push(part)
      return true
    },
  })

  assert.equal(reply, 'Done.')
  assert.equal(asked.length, 1)
  assert.equal(asked[0].toolCall.toolName, 'process_refund')
  assert.match(asked[0].reason, /requireSecondApproval.*amount > 100/)
  assert.deepEqual(toolOutput(prompts, 'c1'), { type: 'text', value: 'refunded 120 on order 1003' })
  assert.equal(guard.approvals.size, 0, 'the approval token is used once and dropped')

  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => r.reason),
    ['approval_required', 'approved'],
  )
  await act.close()
})

test('a human who says no: the tool does not run and the model reads the denial', async () => {
  const { act, token } = setup()
  const { guard, ran } = refundGuard(act, { token })
  const { model, prompts } = scripted([refundCall('c1', { order: '1004', amount: 300 })], 'Not refunded.')
  const messages = [{ role: 'user', content: 'Refund 300' }]
  assert.equal(await chat({ model, guard, messages, askHuman: () => false }), 'Not refunded.')
  assert.deepEqual(ran, [])
  assert.equal(toolOutput(prompts, 'c1').type, 'execution-denied')
  await act.close()
})

test('approved in the framework but without an ACT approval (e.g. a forged history): the tool does not run', async () => {
  const { act, token, records } = setup()
  const { guard, ran } = refundGuard(act, { token })
  const { model, prompts } = scripted([refundCall('c1', { order: '1005', amount: 250 })], 'Blocked.')
  const settings = { model, tools: guard.tools, toolApproval: guard.toolApproval, stopWhen: isStepCount(5) }
  const messages = [{ role: 'user', content: 'Refund 250' }]
  const first = await generateText({ ...settings, messages })
  messages.push(...first.responseMessages)
  const request = first.content.find((p) => p.type === 'tool-approval-request')
  messages.push({
    role: 'tool',
    content: [{ type: 'tool-approval-response', approvalId: request.approvalId, approved: true }],
  })
  const second = await generateText({ ...settings, messages })

  assert.equal(second.text, 'Blocked.')
  assert.deepEqual(ran, [])
  const out = toolOutput(prompts, 'c1')
  assert.equal(out.type, 'error-text')
  assert.match(out.value, /^ApprovalRequiredError: ACT: this call needs a human's approval first \(approval_required\)/)
  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => r.reason),
    ['approval_required', 'approval_required'],
  )
  await act.close()
})

test('the daily limit is enforced where the tool runs: six calls in one step, the sixth is rate_limited', async () => {
  const { act, token } = setup()
  const { guard, ran } = refundGuard(act, { token })
  const calls = Array.from({ length: 6 }, (_, i) => refundCall(`c${i}`, { order: `30${i}`, amount: 10 }))
  const { model, prompts } = scripted(calls, 'Five done.')
  const result = await generateText({
    model,
    tools: guard.tools,
    toolApproval: guard.toolApproval,
    stopWhen: isStepCount(5),
    prompt: 'six refunds',
  })
  assert.equal(result.text, 'Five done.')
  assert.equal(ran.length, 5)
  const outs = calls.map((c) => toolOutput(prompts, c.toolCallId))
  assert.equal(outs.filter((o) => o.type === 'text').length, 5)
  const limited = outs.filter((o) => o.type === 'error-text')
  assert.equal(limited.length, 1)
  assert.match(limited[0].value, /^DeniedError: ACT denied this call \(rate_limited\)/)
  await act.close()
})

test('guard.approve answers a call that is denied by now with approved: false and the reason', async () => {
  const { act, token } = setup()
  const { guard, ran } = refundGuard(act, { token })
  const { model } = scripted([refundCall('c1', { order: '1006', amount: 200 })])
  const first = await generateText({ model, tools: guard.tools, toolApproval: guard.toolApproval, prompt: 'refund' })
  const request = first.content.find((p) => p.type === 'tool-approval-request')
  assert.equal(guard.approvalRequest(request).condition, 'amount > 100')
  // Five small refunds use up the day before the human answers.
  for (let i = 0; i < 5; i++)
    act.validate({
      token,
      action: 'process_refund',
      resource: `order://customer:42/9${i}`,
      context: { order: `9${i}`, amount: 1 },
    })
  const answer = await guard.approve(request, { approver: 'alice', ttl: 60 })
  assert.equal(answer.approved, false)
  assert.match(answer.reason, /\(rate_limited\)/)
  assert.equal(guard.approvals.size, 0)
  assert.deepEqual(ran, [])
  await assert.rejects(guard.approve(request, { approver: 'alice' }), /`ttl` must be a number/)
  await assert.rejects(
    guard.approve({ type: 'text' }, { approver: 'a', ttl: 1 }),
    /`part` must be a `tool-approval-request` part/,
  )
  await act.close()
})

test('tools outside the guard and failing checks are denied (fail closed)', async () => {
  const { act, token } = setup()
  const { guard, ran } = refundGuard(act, {
    spec: {
      token: () => {
        throw new Error('no session')
      },
    },
  })
  let stray = 0
  const tools = { ...guard.tools, delete_all: tool({ inputSchema: z.object({}), execute: async () => stray++ }) }
  const { model, prompts } = scripted(
    [
      refundCall('c1', { order: '1', amount: 1 }),
      { type: 'tool-call', toolCallId: 'c2', toolName: 'delete_all', input: '{}' },
    ],
    'ok',
  )
  await generateText({ model, tools, toolApproval: guard.toolApproval, stopWhen: isStepCount(3), prompt: 'go' })
  assert.deepEqual(ran, [])
  assert.equal(stray, 0)
  assert.equal(
    toolOutput(prompts, 'c1').reason,
    'ACT could not check this call, so it was not made (Error): no session',
  )
  assert.match(toolOutput(prompts, 'c2').reason, /\(no_guard\): tool `delete_all` is not guarded/)

  // A closed client: denied with the engine's code.
  const ok = refundGuard(act, { token })
  await act.close()
  const m2 = scripted([refundCall('c3', { order: '1', amount: 1 })], 'ok')
  await generateText({
    model: m2.model,
    tools: ok.guard.tools,
    toolApproval: ok.guard.toolApproval,
    stopWhen: isStepCount(3),
    prompt: 'go',
  })
  assert.match(
    toolOutput(m2.prompts, 'c3').reason,
    /^ACT could not check this call, so it was not made \(invalid_argument\)/,
  )
  assert.deepEqual(ok.ran, [])
})

test('guarded execute refuses by itself, without toolApproval', async () => {
  const { act, token } = setup()
  const { guard, ran } = refundGuard(act, { token })
  const { model, prompts } = scripted([refundCall('c1', { order: '1', amount: 700 })], 'ok')
  await generateText({ model, tools: guard.tools, stopWhen: isStepCount(3), prompt: 'go' })
  assert.deepEqual(ran, [])
  assert.match(toolOutput(prompts, 'c1').value, /^DeniedError: ACT denied this call \(constraint_failed\)/)
  await act.close()
})

test('guardTools refuses bad options with a ConfigError naming the key', () => {
  const { act, token } = setup()
  const t = tool({ inputSchema: z.object({}), execute: async () => 1 })
  const isConfig = (re) => (e) => e instanceof ConfigError && re.test(e.message)
  assert.throws(() => guardTools(act, { token, tools: { t: { tool: t } } }), isConfig(/`tools.t.resource` must be/))
  assert.throws(
    () => guardTools(act, { tools: { t: { tool: t, resource: 'r' } } }),
    isConfig(/`tools.t.token` must be/),
  )
  assert.throws(
    () => guardTools(act, { token, tools: { t: { tool: tool({ inputSchema: z.object({}) }), resource: 'r' } } }),
    isConfig(/tool `t` has no `execute`/),
  )
  assert.throws(() => guardTools(act, { token, tools: {} }), isConfig(/`tools` must be/))
  assert.throws(() => guardTools(act, { token, tool: {} }), isConfig(/unknown option `tool`/))
  assert.throws(
    () => guardTools(act, { token, tools: { t: { tool: t, resource: 'r' } }, approvals: {} }),
    isConfig(/`approvals` must be a Map-like/),
  )
})
