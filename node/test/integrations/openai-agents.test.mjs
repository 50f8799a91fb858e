// act-sdk/openai-agents against the real OpenAI Agents SDK for JavaScript:
// an Agent with a guarded tool, run by the SDK's Runner on its ScriptedModel
// test double (no network, no model). The test asserts whether the tool ran,
// what the model read back (the reason code), that approval goes through the
// SDK's interruptions (RunState approve/reject), and that an ACT approval is
// what lets the call run.

import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Agent, RunState, run, setTracingDisabled, tool } from '@openai/agents'
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents/testing'
import { z } from 'zod'
import { ACT, SigningKey, ConfigError, DeniedError } from 'act-sdk'
import { createGuard } from 'act-sdk/openai-agents'
import { supportAgent, chat } from '../../integrations/examples/openai-agents-agent.mjs'

setTracingDisabled(true)

const POLICY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'integrations',
  'examples',
  'policies.yaml',
)

function setup() {
  const records = []
  const act = new ACT({ policyFile: POLICY, signingKey: SigningKey.generate(), audit: (r) => records.push(r) })
  const actToken = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  return { act, context: { actToken, userId: '42' }, records }
}

const refund = (callId, order, amount) => [functionCall('process_refund', { order, amount }, { callId })]

/** The output the model read for one call, in the last request it got. */
function toolOutput(model, callId) {
  const item = model.lastCall.request.input.find((i) => i.type === 'function_call_result' && i.callId === callId)
  if (!item) return undefined
  return typeof item.output === 'string' ? item.output : item.output.text
}

const noHuman = () => assert.fail('no approval expected')

test('the docs example: an allowed refund runs; one over maxAmount does not and the model reads the reason', async () => {
  const { act, context, records } = setup()
  const model = new ScriptedModel([
    refund('c1', '1001', 40),
    [assistantMessage('Refunded.')],
    refund('c2', '1002', 900),
    [assistantMessage('Sorry.')],
  ])
  const { agent, guard } = supportAgent({ act, model })

  assert.equal(await chat({ agent, guard, input: 'Refund 40 on 1001', context, askHuman: noHuman }), 'Refunded.')
  assert.equal(toolOutput(model, 'c1'), 'refunded 40 on order 1001')
  assert.equal(await chat({ agent, guard, input: 'Refund 900 on 1002', context, askHuman: noHuman }), 'Sorry.')
  assert.match(toolOutput(model, 'c2'), /^ACT denied this call \(constraint_failed\): .*maxAmount/)
  model.assertComplete()

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

test('the docs example: approval_required interrupts the run; approved by a human, the call runs once with an ACT approval', async () => {
  const { act, context, records } = setup()
  const model = new ScriptedModel([refund('c1', '1003', 120), [assistantMessage('Done.')]])
  const { agent, guard } = supportAgent({ act, model })
  const asked = []
  const reply = await chat({
    agent,
    guard,
    input: 'Refund 120 on 1003',
    context,
    askHuman: (i) => {
      asked.push(i)
      return true
    },
  })

  assert.equal(reply, 'Done.')
  assert.deepEqual(
    asked.map((i) => [i.type, i.name, JSON.parse(i.arguments)]),
    [['tool_approval_item', 'process_refund', { order: '1003', amount: 120 }]],
  )
  assert.equal(toolOutput(model, 'c1'), 'refunded 120 on order 1003')
  assert.equal(guard.approvals.size, 0, 'the approval token is used once and dropped')
  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => r.reason),
    ['approval_required', 'approved'],
  )
  await act.close()
})

/** A guard and agent whose process_refund records what ran. */
function refundAgent(act, model, spec = {}) {
  const ran = []
  const guard = createGuard(act, { token: (_input, { runContext }) => runContext.context.actToken })
  const t = tool(
    guard.wrap(
      {
        name: 'process_refund',
        description: 'Refund an order',
        parameters: z.object({ order: z.string(), amount: z.number() }),
        execute: async ({ order, amount }) => {
          ran.push([order, amount])
          return `refunded ${amount}`
        },
      },
      { resource: ({ order }) => `order://customer:42/${order}`, ...spec },
    ),
  )
  return { guard, ran, agent: new Agent({ name: 'support', tools: [t], model }) }
}

test('a human who rejects: the tool does not run and the model reads the rejection', async () => {
  const { act, context } = setup()
  const model = new ScriptedModel([refund('c1', '1004', 300), [assistantMessage('Not refunded.')]])
  const { agent, guard, ran } = refundAgent(act, model)
  let result = await run(agent, 'Refund 300', { context })
  assert.equal(result.interruptions.length, 1)
  result.state.reject(result.interruptions[0], { message: 'the supervisor said no' })
  result = await run(agent, result.state)
  assert.equal(result.finalOutput, 'Not refunded.')
  assert.deepEqual(ran, [])
  assert.equal(toolOutput(model, 'c1'), 'the supervisor said no')
  assert.equal(guard.approvals.size, 0)
  await act.close()
})

test('approved in the SDK only (no ACT approval, or alwaysApprove): the tool does not run', async () => {
  const { act, context, records } = setup()
  const model = new ScriptedModel([refund('c1', '1005', 250), [assistantMessage('Blocked.')]])
  const { agent, ran } = refundAgent(act, model)
  let result = await run(agent, 'Refund 250', { context })
  result.state.approve(result.interruptions[0], { alwaysApprove: true })
  result = await run(agent, result.state)
  assert.equal(result.finalOutput, 'Blocked.')
  assert.deepEqual(ran, [])
  assert.match(toolOutput(model, 'c1'), /^ACT: this call needs a human's approval first \(approval_required\)/)
  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => r.reason),
    ['approval_required', 'approval_required'],
  )
  await act.close()
})

test('a run state resumed by another process: approve with the run context, the call runs', async () => {
  const { act, context } = setup()
  const model = new ScriptedModel([refund('c1', '1006', 200)])
  const first = refundAgent(act, model)
  const stopped = await run(first.agent, 'Refund 200', { context })
  const saved = stopped.state.toString()

  // Elsewhere: a fresh guard and agent (nothing pending in memory), the state restored from text.
  const model2 = new ScriptedModel([[assistantMessage('Done later.')]])
  const second = refundAgent(act, model2)
  const state = await RunState.fromString(second.agent, saved)
  const [interruption] = state.getInterruptions()
  const approval = await second.guard.approve(interruption, { approver: 'bob', ttl: 60, context })
  assert.match(approval, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  state.approve(interruption)
  const result = await run(second.agent, state)
  assert.equal(result.finalOutput, 'Done later.')
  assert.deepEqual(second.ran, [['1006', 200]])
  assert.deepEqual(first.ran, [])
  await act.close()
})

test('guard.approve of a call denied by now throws DeniedError; of one allowed by now returns null', async () => {
  const { act, context } = setup()
  const model = new ScriptedModel([refund('c1', '1007', 150)])
  const { agent, guard } = refundAgent(act, model)
  const stopped = await run(agent, 'Refund 150', { context })
  const [interruption] = stopped.interruptions
  // Five small refunds use up the day before the human answers.
  for (let i = 0; i < 5; i++) {
    act.validate({
      token: context.actToken,
      action: 'process_refund',
      resource: `order://customer:42/9${i}`,
      context: { order: `9${i}`, amount: 1 },
    })
  }
  const fresh = createGuard(act, { token: context.actToken })
  fresh.wrap(
    { name: 'process_refund', parameters: z.object({}), execute: async () => 1 },
    { resource: ({ order }) => `order://customer:42/${order}` },
  )
  await assert.rejects(
    fresh.approve(interruption, { approver: 'a', ttl: 60 }),
    (e) => e instanceof DeniedError && e.code === 'rate_limited',
  )

  const lenient = createGuard(act, { token: context.actToken })
  lenient.wrap(
    { name: 'process_refund', parameters: z.object({}), execute: async () => 1 },
    { action: 'read_order', resource: 'order://customer:42/1' },
  )
  assert.equal(await lenient.approve(interruption, { approver: 'a', ttl: 60 }), null)

  await assert.rejects(guard.approve(interruption, { approver: 'a' }), /`ttl` must be a number/)
  await assert.rejects(
    guard.approve({}, { approver: 'a', ttl: 1 }),
    /`interruption` must be an item of `result.interruptions`/,
  )
  await act.close()
})

test('spec and engine errors fail closed: the tool does not run and the model reads the error', async () => {
  const { act, context } = setup()
  const model = new ScriptedModel([
    refund('c1', '1', 1),
    [assistantMessage('ok')],
    refund('c2', '2', 1),
    [assistantMessage('ok')],
  ])
  const { agent, ran } = refundAgent(act, model, {
    resource: ({ order }) => {
      if (order === '1') throw new TypeError('no resource for order 1')
      return `order://customer:42/${order}`
    },
  })
  await run(agent, 'go', { context })
  assert.equal(
    toolOutput(model, 'c1'),
    'ACT could not check this call, so it was not made (TypeError): no resource for order 1',
  )
  await act.close()
  await run(agent, 'go', { context })
  assert.match(toolOutput(model, 'c2'), /^ACT could not check this call, so it was not made \(invalid_argument\)/)
  assert.deepEqual(ran, [])
})

test('createGuard and wrap refuse bad options with a ConfigError naming the key', () => {
  const { act } = setup()
  const guard = createGuard(act, { token: 't' })
  const base = { name: 'x', parameters: z.object({}), execute: async () => 1 }
  const isConfig = (re) => (e) => e instanceof ConfigError && re.test(e.message)
  assert.throws(() => guard.wrap(base, {}), isConfig(/`spec of x.resource` must be/))
  assert.throws(
    () => guard.wrap({ ...base, needsApproval: true }, { resource: 'r' }),
    isConfig(/leave `needsApproval` out/),
  )
  assert.throws(
    () => guard.wrap({ ...base, name: undefined }, { resource: 'r' }),
    isConfig(/`toolOptions.name` must be/),
  )
  guard.wrap(base, { resource: 'r' })
  assert.throws(() => guard.wrap(base, { resource: 'r' }), isConfig(/already guarded/))
  assert.throws(() => createGuard(act, { tokn: 't' }), isConfig(/unknown option `tokn`/))
  assert.throws(() => createGuard(null, {}), isConfig(/`act` must be an ACT client/))
  assert.throws(() => createGuard(act, {}).wrap(base, { resource: 'r' }), isConfig(/`spec of x.token` must be/))
})
