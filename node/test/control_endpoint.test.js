'use strict'
// The client against a real `act serve` on loopback: a policy change made
// through the control endpoint reaches a running client within 2 s, and
// without any snapshot the client fails closed.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { ACT, SigningKey } = require('..')

const REPO = path.join(__dirname, '..', '..')
const POLICY = fs.readFileSync(path.join(REPO, 'examples', 'customer_support', 'policies.yaml'), 'utf8')
const API_KEY = 'node-test-api-key'

function actBinary() {
  for (const p of [
    process.env.ACT_BIN,
    path.join(REPO, 'target', 'debug', 'act'),
    path.join(REPO, 'target', 'release', 'act'),
  ]) {
    if (p && fs.existsSync(p)) return p
  }
  throw new Error('the `act` binary is not built; node/run_tests.sh builds it (cargo build -p act-cli)')
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

async function waitForPort(port, child) {
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`act serve exited with ${child.exitCode}`)
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end()
        resolve(true)
      })
      c.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('act serve did not start listening')
}

const refund = (act, token, amount) =>
  act.validate({ token, action: 'process_refund', resource: 'order://customer:42/1001', context: { amount } }).reason

test('a policy change through act serve reaches a running client within 2 s', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-serve-'))
  const policies = path.join(dir, 'policies')
  fs.mkdirSync(policies)
  fs.writeFileSync(path.join(policies, 'support.yaml'), POLICY)
  const controlKey = SigningKey.generate()
  fs.writeFileSync(path.join(dir, 'control.pem'), controlKey.toPem())
  const port = await freePort()
  const server = spawn(
    actBinary(),
    [
      'serve',
      '--policy',
      policies,
      '--key',
      path.join(dir, 'control.pem'),
      '--addr',
      `127.0.0.1:${port}`,
      '--api-key',
      API_KEY,
      '--poll-ms',
      '100',
    ],
    { stdio: 'ignore' },
  )
  t.after(() => server.kill('SIGTERM')) // by this child's pid, never by name
  await waitForPort(port, server)

  const issuerKey = SigningKey.generate()
  const issuer = new ACT({ policyFile: policies, signingKey: issuerKey })
  const token = issuer.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  const act = new ACT({
    endpoint: `http://127.0.0.1:${port}`,
    apiKey: API_KEY,
    trustKey: controlKey,
    trust: [issuerKey],
    cacheDir: path.join(dir, 'cache'),
  })
  t.after(() => act.close())
  const v1 = await act.ready(10000)
  assert.ok(v1 >= 1, JSON.stringify(act.status))
  assert.equal(refund(act, token, 300), 'approval_required')

  fs.writeFileSync(path.join(policies, 'support.yaml'), POLICY.replace('maxAmount: 500', 'maxAmount: 200'))
  const start = Date.now()
  while (refund(act, token, 300) !== 'constraint_failed') {
    assert.ok(Date.now() - start < 2000, `no change after 2 s: ${JSON.stringify(act.status)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.ok(act.status.snapshotVersion > v1)
  await issuer.close()
})

test('without a snapshot the client fails closed, and arguments are checked', async () => {
  const port = await freePort()
  const key = SigningKey.generate()
  const act = new ACT({ endpoint: `http://127.0.0.1:${port}`, apiKey: API_KEY, trustKey: key })
  assert.equal(await act.ready(300), 0)
  const issuer = new ACT({ policy: POLICY, signingKey: key })
  const token = issuer.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  assert.equal(refund(act, token, 10), 'no_snapshot')
  await act.close()
  await issuer.close()
  assert.throws(() => new ACT({ endpoint: 'http://127.0.0.1:1' }), { code: 'invalid_argument', message: /trustKey/ })
  assert.throws(() => new ACT({ policy: POLICY, endpoint: 'http://127.0.0.1:1', trustKey: key }), {
    code: 'invalid_argument',
  })
  assert.throws(() => new ACT({ endpoint: 'ftp://x', trustKey: key }), { code: 'invalid_argument' })
  assert.throws(() => new ACT({ endpoint: 'http://127.0.0.1:1', trustKey: 'ed25519:nope' }), { code: 'key_invalid' })
})

// ---- the control plane: tokens, approvals, audit shipping and fleet status over HTTP ----

const KEYS = { agent: API_KEY, issuer: 'node-issuer-key', approver: 'node-approver-key', admin: 'node-admin-key' }

async function serve(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-serve-cp-'))
  fs.mkdirSync(path.join(dir, 'policies'))
  fs.writeFileSync(path.join(dir, 'policies', 'support.yaml'), POLICY)
  const key = SigningKey.generate()
  fs.writeFileSync(path.join(dir, 'cp.pem'), key.toPem())
  const port = await freePort()
  const server = spawn(
    actBinary(),
    [
      'serve',
      '--policy',
      path.join(dir, 'policies'),
      '--key',
      path.join(dir, 'cp.pem'),
      '--addr',
      `127.0.0.1:${port}`,
      '--api-key',
      KEYS.agent,
      '--issuer-api-key',
      KEYS.issuer,
      '--approver-api-key',
      KEYS.approver,
      '--admin-api-key',
      KEYS.admin,
      '--poll-ms',
      '100',
    ],
    { stdio: 'ignore' },
  )
  t.after(() => server.kill('SIGTERM')) // by this child's pid, never by name
  await waitForPort(port, server)
  const url = `http://127.0.0.1:${port}`
  const http = async (method, route, who, body) => {
    const res = await fetch(url + route, {
      method,
      headers: { authorization: `Bearer ${KEYS[who]}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    assert.ok(res.ok, `${method} ${route}: HTTP ${res.status}`)
    return res.status === 204 ? null : res.json()
  }
  return { url, key, http }
}

test('an endpoint-mode agent mints through the endpoint, waits for a human and ships its audit chain', async (t) => {
  const { url, key, http } = await serve(t)
  const act = new ACT({ endpoint: url, apiKey: KEYS.agent, trustKey: key.publicKey, issuerApiKey: KEYS.issuer })
  t.after(() => act.close())
  assert.ok((await act.ready(10000)) >= 1)
  assert.throws(() => act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } }), {
    code: 'invalid_argument',
    message: /issueTokenAsync/,
  })
  const token = await act.issueTokenAsync({ agent: 'customer-support-bot', userContext: { user_id: '42' }, ttl: 600 })
  const info = act.inspectToken(token)
  assert.equal(info.agent, 'customer-support-bot')
  assert.equal(info.subject, '42')
  assert.ok(info.jti.length > 0 && info.chain.length === 1)

  // The example policy has a $300/day agent-wide refund budget: 150 approved, then 120 and 130 asked for.
  const req = { token, action: 'process_refund', resource: 'order://customer:42/1001', context: { amount: 150 } }
  const pending = act.validate(req)
  assert.equal(pending.outcome, 'approval_required')
  const handle = await act.requestApproval(pending)
  assert.equal(handle.id, pending.approvalRequest.id)
  assert.equal(handle.status, 'pending')
  setTimeout(() => http('POST', `/v1/approvals/${handle.id}/grant`, 'approver', { reason: 'verified' }), 200)
  const approval = await act.waitForApproval(handle, 20000)
  assert.equal(act.validate({ ...req, approval }).reason, 'approved')
  assert.equal(act.validate({ ...req, approval }).reason, 'approval_replayed')

  const again = await act.requestApproval(act.validate({ ...req, context: { amount: 120 } }))
  setTimeout(() => http('POST', `/v1/approvals/${again.id}/deny`, 'approver', { reason: 'no receipt' }), 200)
  await assert.rejects(act.waitForApproval(again, 20000), (e) => {
    assert.equal(e.name, 'ApprovalDeniedError')
    assert.equal(e.code, 'approval_denied')
    assert.equal(e.reason, 'no receipt')
    assert.equal(e.decidedBy, 'dev-approver')
    return true
  })
  const late = await act.requestApproval(act.validate({ ...req, context: { amount: 130 } }))
  await assert.rejects(act.waitForApproval(late, 1000), { name: 'ApprovalTimeoutError', code: 'approval_timeout' })

  assert.equal(await act.waitAuditDelivered(10000), true)
  const st = act.status
  for (const f of require('..').STATUS_FIELDS) {
    const camel = f.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
    assert.ok(camel in st, `status lacks ${camel}`)
  }
  assert.equal(st.instanceId, act.instanceId)
  const { chains } = await http('GET', '/v1/audit/chains', 'admin')
  const ours = chains.filter((c) => c.instance === act.instanceId)
  assert.equal(ours.length, 1, JSON.stringify(chains))
  assert.equal(ours[0].records, st.auditWritten)
  assert.deepEqual([ours[0].gaps, ours[0].forks, ours[0].flagged], [0, 0, false])
})

test('endpoint errors are typed, with the transport error as cause', async (t) => {
  const { url, key } = await serve(t)
  const act = new ACT({ endpoint: url, apiKey: KEYS.agent, trustKey: key.publicKey, issuerApiKey: 'wrong-key' })
  t.after(() => act.close())
  await assert.rejects(act.issueTokenAsync({ agent: 'customer-support-bot', userContext: { user_id: '42' } }), (e) => {
    assert.equal(e.name, 'EndpointError')
    assert.equal(e.status, 401)
    assert.equal(e.endpointCode, 'unauthorized')
    return true
  })
  const down = new ACT({ endpoint: `http://127.0.0.1:${await freePort()}`, trustKey: key.publicKey, issuerApiKey: 'k' })
  t.after(() => down.close())
  await assert.rejects(down.issueTokenAsync({ agent: 'customer-support-bot', userContext: { user_id: '42' } }), (e) => {
    assert.equal(e.endpointCode, 'unreachable')
    assert.ok(e.cause instanceof Error, 'the transport error is the cause')
    return true
  })
})
