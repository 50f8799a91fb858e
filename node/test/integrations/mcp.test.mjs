// act-sdk/mcp against the real MCP TypeScript SDK: an McpServer with a guarded
// tool, a real Client over the SDK's in-memory transport pair (and once over
// stdio, running the docs' example as a process). The client stands in for
// the model: it proposes tool calls; the test asserts whether the tool ran,
// what text came back, and that approval goes through MCP elicitation.

import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { ACT, SigningKey, ConfigError } from 'act-sdk'
import { registerTool } from 'act-sdk/mcp'
import { createServer } from '../../integrations/examples/mcp-server.mjs'

const EXAMPLES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'integrations', 'examples')
const POLICY = path.join(EXAMPLES, 'policies.yaml')

function setup() {
  const records = []
  const act = new ACT({ policyFile: POLICY, signingKey: SigningKey.generate(), audit: (r) => records.push(r) })
  const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  return { act, token, records }
}

/** A connected client; `elicit` answers the server's elicitation requests (omit it: no elicitation capability). */
async function connect(server, elicit) {
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    elicit ? { capabilities: { elicitation: { form: {} } } } : {},
  )
  const asked = []
  if (elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params)
      return elicit(req.params)
    })
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  await client.connect(clientSide)
  return { client, asked }
}

const text = (result) => result.content.map((c) => c.text).join('\n')

/** A server whose process_refund tool records what ran. */
function refundServer(act, spec) {
  const ran = []
  const server = new McpServer({ name: 'shop', version: '1.0.0' })
  registerTool(
    server,
    act,
    'process_refund',
    { inputSchema: { order: z.string(), amount: z.number() } },
    { resource: ({ order }) => `order://customer:42/${order}`, ...spec },
    async ({ order, amount }) => {
      ran.push([order, amount])
      return { content: [{ type: 'text', text: `refunded ${amount}` }] }
    },
  )
  return { server, ran }
}

test('the docs example: an allowed refund runs; one over maxAmount does not, and the client reads the reason', async () => {
  const { act, token, records } = setup()
  const { client } = await connect(createServer({ act, token, userId: '42' }))

  const ok = await client.callTool({ name: 'process_refund', arguments: { order: '1001', amount: 40 } })
  assert.equal(ok.isError, undefined)
  assert.equal(text(ok), 'refunded 40 on order 1001')

  const over = await client.callTool({ name: 'process_refund', arguments: { order: '1002', amount: 900 } })
  assert.equal(over.isError, true)
  assert.match(text(over), /^ACT denied this call \(constraint_failed\): .*maxAmount/)

  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => [r.reason, r.resource, r.context.amount]),
    [
      ['allowed', 'order://customer:42/1001', 40],
      ['constraint_failed', 'order://customer:42/1002', 900],
    ],
  )
  await client.close()
  await act.close()
})

test('approval_required asks the client user by elicitation; on accept an ACT approval is signed and the tool runs once', async () => {
  const { act, token, records } = setup()
  const { server, ran } = refundServer(act, { token, approver: 'alice@shop.example' })
  const { client, asked } = await connect(server, () => ({ action: 'accept', content: { approve: true } }))

  const r = await client.callTool({ name: 'process_refund', arguments: { order: '1003', amount: 120 } })
  assert.equal(r.isError, undefined, text(r))
  assert.equal(text(r), 'refunded 120')
  assert.deepEqual(ran, [['1003', 120]])
  assert.equal(asked.length, 1)
  assert.match(asked[0].message, /process_refund on order:\/\/customer:42\/1003/)
  assert.match(asked[0].message, /amount > 100/)
  assert.deepEqual(asked[0].requestedSchema.required, ['approve'])

  await act.flushAudit()
  assert.deepEqual(
    records.map((r) => r.reason),
    ['approval_required', 'approved'],
  )
  await client.close()
  await act.close()
})

test('a declined elicitation, a client without elicitation and approval: "deny" all leave the tool unrun', async () => {
  const { act, token } = setup()

  const declined = refundServer(act, { token })
  const c1 = await connect(declined.server, () => ({ action: 'decline' }))
  const r1 = await c1.client.callTool({ name: 'process_refund', arguments: { order: '1004', amount: 150 } })
  assert.equal(r1.isError, true)
  assert.match(text(r1), /\(approval_required\).*not approved: the user did not approve \(decline\)/)
  assert.equal(c1.asked.length, 1)

  const unchecked = refundServer(act, { token })
  const c2 = await connect(unchecked.server, () => ({ action: 'accept', content: { approve: false } }))
  const r2 = await c2.client.callTool({ name: 'process_refund', arguments: { order: '1004', amount: 150 } })
  assert.match(text(r2), /the user did not approve \(approve: false\)/)

  const noElicitation = refundServer(act, { token })
  const c3 = await connect(noElicitation.server)
  const r3 = await c3.client.callTool({ name: 'process_refund', arguments: { order: '1004', amount: 150 } })
  assert.equal(r3.isError, true)
  assert.match(text(r3), /\(approval_required\).*no form elicitation capability/)

  const never = refundServer(act, { token, approval: 'deny' })
  const c4 = await connect(never.server, () => ({ action: 'accept', content: { approve: true } }))
  const r4 = await c4.client.callTool({ name: 'process_refund', arguments: { order: '1004', amount: 150 } })
  assert.match(text(r4), /\(approval_required\).*approval: "deny"/)
  assert.equal(c4.asked.length, 0)

  for (const s of [declined, unchecked, noElicitation, never]) assert.deepEqual(s.ran, [])
  for (const c of [c1, c2, c3, c4]) await c.client.close()
  await act.close()
})

test('approval routed to a supervisor: the function returns an issuer-signed approval token, or null', async () => {
  const { act, token } = setup()
  const seen = []
  let grant = true
  const { server, ran } = refundServer(act, {
    token,
    approval: async ({ approvalRequest, input, extra }) => {
      seen.push([approvalRequest.condition, input.amount, typeof extra.requestId])
      return grant ? act.approve(approvalRequest, { approver: 'supervisor@shop.example', ttl: 600 }) : null
    },
  })
  const { client } = await connect(server)
  const r = await client.callTool({ name: 'process_refund', arguments: { order: '1005', amount: 200 } })
  assert.equal(text(r), 'refunded 200')
  grant = false
  const r2 = await client.callTool({ name: 'process_refund', arguments: { order: '1006', amount: 200 } })
  assert.match(text(r2), /\(approval_required\).*not approved: not approved/)
  assert.deepEqual(seen, [
    ['amount > 100', 200, 'number'],
    ['amount > 100', 200, 'number'],
  ])
  assert.deepEqual(ran, [['1005', 200]])

  // An approval token for another request (another amount) is refused by the core: approval_invalid.
  const other = act.check({
    token,
    action: 'process_refund',
    resource: 'order://customer:42/1007',
    context: { order: '1007', amount: 300 },
  })
  const wrong = refundServer(act, { token, approval: async () => act.approve(other, { approver: 'x', ttl: 60 }) })
  const c2 = await connect(wrong.server)
  const r3 = await c2.client.callTool({ name: 'process_refund', arguments: { order: '1007', amount: 250 } })
  assert.match(text(r3), /^ACT denied this call \(approval_invalid\)/)
  assert.deepEqual(wrong.ran, [])
  await client.close()
  await c2.client.close()
  await act.close()
})

test('the daily limit denies the sixth refund with rate_limited', async () => {
  const { act, token } = setup()
  const { server, ran } = refundServer(act, { token })
  const { client } = await connect(server)
  for (let i = 0; i < 5; i++) {
    const r = await client.callTool({ name: 'process_refund', arguments: { order: `20${i}`, amount: 10 } })
    assert.equal(r.isError, undefined, text(r))
  }
  const sixth = await client.callTool({ name: 'process_refund', arguments: { order: '206', amount: 10 } })
  assert.match(text(sixth), /^ACT denied this call \(rate_limited\)/)
  assert.equal(ran.length, 5)
  await client.close()
  await act.close()
})

test('engine and spec errors fail closed: the tool does not run and the result names the error', async () => {
  const { act, token } = setup()
  const throwing = refundServer(act, {
    token: () => {
      throw new Error('no session')
    },
  })
  const c1 = await connect(throwing.server)
  const r1 = await c1.client.callTool({ name: 'process_refund', arguments: { order: '1', amount: 1 } })
  assert.equal(r1.isError, true)
  assert.equal(text(r1), 'ACT could not check this call, so it was not made (Error): no session')

  // A context that is not JSON is the engine's `invalid_argument`.
  const cyclic = {}
  cyclic.self = cyclic
  const badContext = refundServer(act, { token, context: () => cyclic })
  const c2 = await connect(badContext.server)
  const r2 = await c2.client.callTool({ name: 'process_refund', arguments: { order: '1', amount: 1 } })
  assert.match(
    text(r2),
    /^ACT could not check this call, so it was not made \(invalid_argument\): `context` is not JSON/,
  )

  // A forged token is a deny with its own reason, not an error.
  const forged = refundServer(act, { token: `${token.slice(0, -4)}AAAA` })
  const c3 = await connect(forged.server)
  const r3 = await c3.client.callTool({ name: 'process_refund', arguments: { order: '1', amount: 1 } })
  assert.match(text(r3), /^ACT denied this call \(token_signature_invalid\)/)

  // A closed client denies everything.
  const fine = refundServer(act, { token })
  const c4 = await connect(fine.server)
  await act.close()
  const r4 = await c4.client.callTool({ name: 'process_refund', arguments: { order: '1', amount: 1 } })
  assert.match(text(r4), /^ACT could not check this call, so it was not made \(invalid_argument\)/)

  for (const s of [throwing, badContext, forged, fine]) assert.deepEqual(s.ran, [])
  for (const c of [c1, c2, c3, c4]) await c.client.close()
})

test('a tool without an input schema is guarded too (the SDK calls it with extra only)', async () => {
  const { act, token } = setup()
  const server = new McpServer({ name: 'shop', version: '1.0.0' })
  let ran = 0
  registerTool(
    server,
    act,
    'read_order',
    { description: 'Read order 1001' },
    { token, resource: 'order://customer:42/1001' },
    async (extra) => {
      ran++
      return { content: [{ type: 'text', text: `read (request ${typeof extra.requestId})` }] }
    },
  )
  registerTool(
    server,
    act,
    'read_other',
    { description: 'Read order 7 of customer 7' },
    { token, action: 'read_order', resource: 'order://customer:7/7' },
    async () => {
      ran += 100
      return { content: [{ type: 'text', text: 'leaked' }] }
    },
  )
  const { client } = await connect(server)
  assert.equal(text(await client.callTool({ name: 'read_order', arguments: {} })), 'read (request number)')
  assert.match(
    text(await client.callTool({ name: 'read_other', arguments: {} })),
    /^ACT denied this call \(resource_not_allowed\)/,
  )
  assert.equal(ran, 1)
  await client.close()
  await act.close()
})

test('registerTool refuses a bad spec with a ConfigError naming the key', () => {
  const { act, token } = setup()
  const server = new McpServer({ name: 'shop', version: '1.0.0' })
  const handler = async () => ({ content: [] })
  assert.throws(
    () => registerTool(server, act, 't', {}, { token }, handler),
    (e) => e instanceof ConfigError && /`spec.resource` must be/.test(e.message),
  )
  assert.throws(
    () => registerTool(server, act, 't', {}, { token, resource: 'r', approval: 'ask' }, handler),
    /`spec.approval` must be/,
  )
  assert.throws(
    () => registerTool(server, act, 't', {}, { token, resource: 'r', resourse: 'x' }, handler),
    /unknown option `resourse`/,
  )
  assert.throws(
    () => registerTool(server, {}, 't', {}, { token, resource: 'r' }, handler),
    /`act` must be an ACT client/,
  )
  assert.throws(
    () => registerTool({}, act, 't', {}, { token, resource: 'r' }, handler),
    /`server` must be an McpServer/,
  )
})

test('the docs example runs as an MCP server over stdio', async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(EXAMPLES, 'mcp-server.mjs')],
    cwd: EXAMPLES,
    stderr: 'pipe',
  })
  const client = new Client({ name: 'stdio-client', version: '1.0.0' })
  await client.connect(transport)
  try {
    const tools = await client.listTools()
    assert.deepEqual(
      tools.tools.map((t) => t.name),
      ['process_refund'],
    )
    assert.equal(
      text(await client.callTool({ name: 'process_refund', arguments: { order: '1001', amount: 25 } })),
      'refunded 25 on order 1001',
    )
    assert.match(
      text(await client.callTool({ name: 'process_refund', arguments: { order: '1001', amount: 501 } })),
      /\(constraint_failed\)/,
    )
  } finally {
    await client.close()
  }
})
