'use strict'
// The `Decision` class (its lazy getters, shadow, approval request fields), `seal`,
// checkpointed audit logs (`auditKey`) and the status shape, which is exactly core's.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const sdk = require('..')
const { ACT, SigningKey } = sdk

const POLICY = `
agent: bot
policy:
  actions: [refund, read]
  resources: ["order://{{authenticated_user_id}}/*"]
  constraints:
    refund:
      maxAmount: 500
      requireApproval: amount > 100
      requireSecondApproval: amount > 200
---
agent: bot
shadow: true
policy:
  actions: [refund, read]
  resources: ["order://{{authenticated_user_id}}/*"]
  constraints:
    refund:
      maxAmount: 50
`

const act0 = new ACT({ policy: POLICY, signingKey: SigningKey.generate() })
const req0 = {
  token: act0.issueToken({ agent: 'bot', userContext: { user_id: '7' } }),
  action: 'read',
  resource: 'order://7/1',
}
test.after(() => act0.close())

function client(extra = {}) {
  const signingKey = SigningKey.generate()
  const act = new ACT({ policy: POLICY, signingKey, ...extra })
  const token = act.issueToken({ agent: 'bot', userContext: { user_id: '7' } })
  return { act, token, signingKey }
}

test('a decision reads like the plain object it describes, and prints and serialises as one', async () => {
  assert.throws(() => new (Object.getPrototypeOf(act0.check(req0)).constructor)('0 0|{}'), {
    code: 'invalid_argument',
  })
  const { act, token } = client()
  const d = act.validate({ token, action: 'refund', resource: 'order://7/1', context: { amount: 80 } })
  assert.equal(d.outcome, 'allow')
  assert.equal(d.allowed, true)
  assert.equal(d.reason, 'allowed')
  assert.equal(d.rule, 'bot')
  assert.equal(d.constraint, null)
  assert.equal(d.agent, 'bot')
  assert.equal(d.subject, '7')
  assert.equal(typeof d.auditId, 'string')
  assert.ok(d.snapshotVersion >= 1)
  assert.equal(d.approvalRequest, null)
  assert.equal(d.trace, undefined)
  const plain = JSON.parse(JSON.stringify(d))
  assert.equal(plain.outcome, 'allow')
  assert.equal(plain.message, d.message)
  assert.equal('trace' in plain, false)
  assert.match(util.inspect(d), /^Decision \{/)
  assert.match(util.inspect(d), /outcome: 'allow'/)
  const ex = act.explain({ token, action: 'read', resource: 'order://7/1' })
  assert.ok(Array.isArray(ex.trace) && ex.trace.length > 0)
  assert.equal(typeof ex.trace[0].stage, 'string')
  assert.ok(Array.isArray(JSON.parse(JSON.stringify(ex)).trace))
  // Read-only: the core's decision is what the fields show.
  assert.throws(() => {
    'use strict'
    d.outcome = 'deny'
  }, TypeError)
  assert.equal(d.outcome, 'allow')
  await act.close()
})

test('shadow: what the shadow policy would have decided, null for agents without one', async () => {
  const { act, token } = client()
  const d = act.check({ token, action: 'refund', resource: 'order://7/1', context: { amount: 80 } })
  assert.equal(d.outcome, 'allow')
  assert.deepEqual(
    { ...d.shadow, message: typeof d.shadow.message },
    {
      outcome: 'deny',
      reason: 'constraint_failed',
      rule: 'bot',
      message: 'string',
      constraint: 'bot/refund/maxAmount',
    },
  )
  const plain = new ACT({ policy: POLICY.split('---')[0], signingKey: SigningKey.generate() })
  const t2 = plain.issueToken({ agent: 'bot', userContext: { user_id: '7' } })
  assert.equal(plain.check({ token: t2, action: 'read', resource: 'order://7/1' }).shadow, null)
  await plain.close()
  await act.close()
})

test('an approval request carries the context the approver sees, its hash, every condition and the chain', async () => {
  const { act, token } = client()
  const d = act.check({ token, action: 'refund', resource: 'order://7/1', context: { amount: 300, note: 'x' } })
  assert.equal(d.outcome, 'approval_required')
  const r = d.approvalRequest
  assert.deepEqual(r.context, { amount: 300, note: 'x' })
  assert.equal(typeof r.contextHash, 'string')
  assert.ok(r.contextHash.length > 20)
  assert.deepEqual(
    r.conditions.map((c) => c.condition),
    ['amount > 100', 'amount > 200'],
  )
  assert.equal(r.conditions[0].constraint, r.constraint)
  assert.equal(r.conditions[0].condition, r.condition)
  assert.deepEqual(r.chain, ['bot'])
  assert.deepEqual(JSON.parse(JSON.stringify(d)).approvalRequest.chain, ['bot'])
  // The approval signed for the decision (the class instance) turns it into an allow.
  const approval = act.approve(d, { approver: 'lead', ttl: 60 })
  const req = { token, action: 'refund', resource: 'order://7/1', context: { amount: 300, note: 'x' }, approval }
  assert.equal(act.validate(req).reason, 'approved')
  // requestApproval needs an endpoint; embedded it says so (and refuses things that are not decisions).
  await assert.rejects(act.requestApproval(d), { code: 'invalid_argument', message: /endpoint/ })
  await assert.rejects(act.requestApproval(JSON.parse(JSON.stringify(d))), { code: 'invalid_argument' })
  assert.throws(() => act.requestApproval({ approvalRequest: null }), { code: 'invalid_argument' })
  await act.close()
})

test('seal: the holder of the cnf key makes its token presentable', async () => {
  const { act } = client()
  const holder = SigningKey.generate()
  const token = act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, holderKey: holder })
  const req = { action: 'read', resource: 'order://7/1' }
  assert.equal(act.validate({ ...req, token }).reason, 'delegation_unsealed')
  const sealed = act.seal(token, { holderKey: holder, ttl: 60 })
  assert.equal(act.validate({ ...req, token: sealed }).reason, 'allowed')
  assert.equal(act.inspectToken(sealed).chain.length, 2)
  assert.throws(() => act.seal(token, { holderKey: SigningKey.generate(), ttl: 60 }), sdk.ActError)
  assert.throws(() => act.seal(sealed, { holderKey: holder, ttl: 60 }), { reason: 'delegation_invalid' })
  assert.throws(() => act.seal(token, { holderKey: holder.publicKey, ttl: 60 }), { code: 'invalid_argument' })
  await act.close()
})

test('auditKey: checkpointed audit logs show a removed tail', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-node-cp-'))
  const file = path.join(dir, 'audit.jsonl')
  const auditKey = SigningKey.generate()
  try {
    const { act, token } = client({ audit: file, auditKey })
    for (let i = 0; i < 5; i++) act.validate({ token, action: 'read', resource: `order://7/${i}` })
    await act.close()
    const log = fs.readFileSync(file, 'utf8')
    const checkpoints = fs.readFileSync(`${file}.checkpoints`, 'utf8')
    assert.equal(sdk.verifyAuditLog(log, { checkpoints, auditKey }), 5)
    assert.equal(sdk.verifyAuditLog(log, { checkpoints, auditKey: auditKey.publicKey }), 5)
    const cut = `${log.trimEnd().split('\n').slice(0, 3).join('\n')}\n`
    assert.equal(sdk.verifyAuditLog(cut), 3, 'the chain alone cannot see a removed tail')
    assert.throws(() => sdk.verifyAuditLog(cut, { checkpoints, auditKey }), {
      name: 'AuditChainError',
      code: 'audit_chain_broken',
      message: /removed/,
    })
    assert.throws(() => sdk.verifyAuditLog(log, { checkpoints, auditKey: SigningKey.generate() }), {
      code: 'audit_chain_broken',
    })
    assert.throws(() => sdk.verifyAuditLog(log, { checkpoints }), { code: 'invalid_argument', message: /together/ })
    assert.throws(() => new ACT({ policy: POLICY, auditKey: 'nope' }), { code: 'invalid_argument' })
    // The sink refuses to continue a log that lost checkpointed records.
    fs.writeFileSync(file, cut)
    assert.throws(() => new ACT({ policy: POLICY, audit: file, auditKey }), { code: 'audit_chain_broken' })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("status has exactly the core's fields (camelCase), in every mode", async () => {
  const camel = (f) => f.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
  const expected = [...sdk.STATUS_FIELDS].map(camel).sort()
  assert.ok(expected.includes('auditLastError') && expected.includes('openBreakers'))
  const { act } = client()
  assert.deepEqual(Object.keys(act.status).sort(), expected)
  const endpoint = new ACT({ endpoint: 'http://127.0.0.1:1', trustKey: SigningKey.generate() })
  assert.deepEqual(Object.keys(endpoint.status).sort(), expected)
  assert.deepEqual(Object.keys(endpoint.status.audit).sort(), [
    'delivered',
    'dropped',
    'lastError',
    'queued',
    'spillPendingBytes',
    'spilled',
  ])
  await endpoint.close()
  await act.close()
  assert.equal(act.status.closed, true)
  assert.deepEqual(Object.keys(act.status).sort(), expected)
})
