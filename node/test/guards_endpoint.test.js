'use strict'
// The framework guards with an ACT in endpoint mode, against a real `act serve`: an
// approval_required call is sent to the endpoint (requestApproval) and waits for an operator
// (waitForApproval); nothing is signed in the agent's process (it has no signing key).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { ACT, SigningKey } = require('..')
const { createGuard } = require('../integrations/openai-agents.js')
const { registerTool } = require('../integrations/mcp.js')
const { guardTools } = require('../integrations/ai-sdk.js')

const REPO = path.join(__dirname, '..', '..')
const POLICY = fs.readFileSync(path.join(REPO, 'examples', 'customer_support', 'policies.yaml'), 'utf8')
const KEYS = { agent: 'guards-agent-key', issuer: 'guards-issuer-key', approver: 'guards-approver-key' }
const ORDER = 'order://customer:42/1001'

function actBinary() {
  const found = [process.env.ACT_BIN, path.join(REPO, 'target', 'debug', 'act')].find((p) => p && fs.existsSync(p))
  if (!found) throw new Error('the `act` binary is not built; node/run_tests.sh builds it (cargo build -p act-cli)')
  return found
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

async function serve(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-serve-guards-'))
  fs.mkdirSync(path.join(dir, 'policies'))
  fs.writeFileSync(path.join(dir, 'policies', 'support.yaml'), POLICY)
  const key = SigningKey.generate()
  fs.writeFileSync(path.join(dir, 'cp.pem'), key.toPem())
  const port = await freePort()
  const args = ['serve', '--policy', path.join(dir, 'policies'), '--key', path.join(dir, 'cp.pem')]
  args.push('--addr', `127.0.0.1:${port}`, '--api-key', KEYS.agent, '--issuer-api-key', KEYS.issuer)
  args.push('--approver-api-key', KEYS.approver, '--poll-ms', '100')
  const server = spawn(actBinary(), args, { stdio: 'ignore' })
  t.after(() => {
    server.kill('SIGTERM') // by this child's pid, never by name
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20000
  for (;;) {
    if (server.exitCode !== null) throw new Error(`act serve exited with ${server.exitCode}`)
    const up = await fetch(`${url}/v1/snapshot`, { headers: { authorization: `Bearer ${KEYS.agent}` } }).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    assert.ok(Date.now() < deadline, 'act serve did not start')
    await new Promise((r) => setTimeout(r, 50))
  }
  const act = new ACT({ endpoint: url, apiKey: KEYS.agent, trustKey: key.publicKey, issuerApiKey: KEYS.issuer })
  t.after(() => act.close())
  assert.ok((await act.ready(10000)) >= 1)
  const token = await act.issueTokenAsync({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  /** The operator grants (or denies) the first pending request that shows up. */
  const operator = async (verdict, reason) => {
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`${url}/v1/approvals?status=pending`, {
        headers: { authorization: `Bearer ${KEYS.approver}` },
      })
      const body = await res.json()
      const list = Array.isArray(body) ? body : (body.approvals ?? [])
      if (list.length > 0) {
        const r = await fetch(`${url}/v1/approvals/${list[0].id}/${verdict}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.approver}`, 'content-type': 'application/json' },
          body: JSON.stringify({ reason }),
        })
        assert.ok(r.ok, `${verdict}: HTTP ${r.status}`)
        return list[0]
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error('no approval request reached the endpoint')
  }
  return { act, token, operator }
}

test('openai-agents: approve() in endpoint mode waits for the operator and the call then runs', async (t) => {
  const { act, token, operator } = await serve(t)
  const guard = createGuard(act, { token })
  const ran = []
  const opts = guard.wrap(
    { name: 'process_refund', description: 'refund', parameters: {}, execute: async (input) => ran.push(input) },
    { resource: ORDER },
  )
  const input = { amount: 150 }
  assert.equal(await opts.needsApproval({}, input, 'call-1'), true)
  const interruption = {
    type: 'tool_approval_item',
    rawItem: { callId: 'call-1', name: 'process_refund', arguments: JSON.stringify(input) },
  }
  await assert.rejects(guard.approve(interruption, { approver: 'me', ttl: 60 }), { code: 'invalid_argument' })
  const granted = operator('grant', 'checked the receipt')
  const approval = await guard.approve(interruption, { timeoutMs: 20000 })
  const entry = await granted
  assert.equal(typeof approval, 'string')
  assert.equal(entry.status, 'pending')
  await opts.execute(input, {}, { toolCall: { callId: 'call-1' } })
  assert.deepEqual(ran, [input])
})

test('mcp: in endpoint mode the default approval is the endpoint, and a denial is reported', async (t) => {
  const { act, token, operator } = await serve(t)
  const tools = new Map()
  const server = { registerTool: (name, _config, cb) => tools.set(name, cb) }
  const ran = []
  registerTool(
    server,
    act,
    'process_refund',
    { inputSchema: {} },
    { token, resource: ORDER, approvalTimeoutMs: 20000 },
    async (input) => {
      ran.push(input)
      return { content: [{ type: 'text', text: 'refunded' }] }
    },
  )
  const call = tools.get('process_refund')
  const granted = operator('grant', 'ok')
  const ok = await call({ amount: 120 }, {})
  await granted
  assert.equal(ok.isError, undefined, JSON.stringify(ok))
  assert.deepEqual(ran, [{ amount: 120 }])
  const denied = operator('deny', 'no receipt')
  const no = await call({ amount: 130 }, {})
  await denied
  assert.equal(no.isError, true)
  assert.match(no.content[0].text, /approval_denied/)
  assert.equal(ran.length, 1)
})

test('ai-sdk: approve() in endpoint mode asks the operator; the guarded execute then runs once', async (t) => {
  const { act, token, operator } = await serve(t)
  const ran = []
  const tool = { description: 'refund', inputSchema: {}, execute: async (input) => ran.push(input) }
  const guard = guardTools(act, { token, tools: { process_refund: { tool, resource: ORDER } } })
  const toolCall = { toolName: 'process_refund', toolCallId: 'c1', input: { amount: 110 } }
  assert.equal(guard.toolApproval({ toolCall, messages: [] }).type, 'user-approval')
  const part = { type: 'tool-approval-request', approvalId: 'a1', toolCall }
  const granted = operator('grant', 'fine')
  const response = await guard.approve(part, { timeoutMs: 20000 })
  await granted
  assert.equal(response.approved, true)
  await guard.tools.process_refund.execute(toolCall.input, { toolCallId: 'c1' })
  assert.deepEqual(ran, [{ amount: 110 }])
})
