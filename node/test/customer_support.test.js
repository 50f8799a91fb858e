'use strict'
// The article's customer-support bot, as a Node agent would run it: tool
// functions wrapped by `guard`, the context built from the tool call's
// arguments, a human approving the one large refund, the daily limit, and an
// audit log whose hash chain verifies.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const {
  ACT,
  SigningKey,
  ManualClock,
  guard,
  verifyAuditLog,
  GENESIS_HASH,
  DeniedError,
  ApprovalRequiredError,
} = require('..')

const POLICY = path.join(__dirname, '..', '..', 'examples', 'customer_support', 'policies.yaml')

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-support-'))
  const auditFile = path.join(dir, 'audit.jsonl')
  const clock = new ManualClock(Date.parse('2026-03-16T09:00:00Z'))
  const act = new ACT({ policyFile: POLICY, signingKey: SigningKey.generate(), audit: auditFile, clock })
  // The app authenticated customer 42 (e.g. via OAuth) and gives the agent a scoped token.
  const token = act.issueToken({
    agent: 'customer-support-bot',
    userContext: { user_id: '42', roles: ['customer'] },
    ttl: 3600,
  })
  const done = []
  const tools = {
    readOrder: guard(
      act,
      { token, action: 'read_order', resource: (a) => `order://customer:${a.customer}/${a.order}` },
      async (a) => {
        done.push(['read', a.order])
        return { order: a.order, status: 'shipped' }
      },
    ),
    processRefund: guard(
      act,
      {
        token,
        action: 'process_refund',
        resource: (a) => `order://customer:${a.customer}/${a.order}`,
        context: (a) => ({ amount: a.amount }),
        approval: (a) => a.approval,
      },
      async (a) => {
        done.push(['refund', a.order, a.amount])
        return { refunded: a.amount }
      },
    ),
  }
  return { act, token, tools, done, clock, dir, auditFile }
}

test('the article scenario: own orders only, refunds capped, large ones approved by a human', async () => {
  const { act, tools, done, dir, auditFile } = setup()
  try {
    assert.deepEqual(await tools.readOrder({ customer: '42', order: '1001', rows: 1 }), {
      order: '1001',
      status: 'shipped',
    })
    assert.deepEqual(await tools.processRefund({ customer: '42', order: '1001', amount: 18.5 }), { refunded: 18.5 })

    // Prompt injection: another customer's order.
    await assert.rejects(tools.readOrder({ customer: '43', order: '1002', rows: 1 }), (e) => {
      assert.ok(e instanceof DeniedError)
      assert.equal(e.code, 'resource_not_allowed')
      assert.equal(e.decision.outcome, 'deny')
      return true
    })
    // Over the cap.
    await assert.rejects(tools.processRefund({ customer: '42', order: '1003', amount: 600 }), (e) => {
      assert.ok(DeniedError.isInstance(e))
      assert.equal(e.code, 'constraint_failed')
      assert.equal(e.decision.constraint, 'customer-support-bot/process_refund/maxAmount')
      return true
    })
    // Bulk export.
    await assert.rejects(tools.readOrder({ customer: '42', order: '1001', rows: 5000 }), { code: 'constraint_failed' })
    // A refund over $100 needs a human.
    let pending
    await assert.rejects(tools.processRefund({ customer: '42', order: '1004', amount: 120 }), (e) => {
      assert.ok(e instanceof ApprovalRequiredError)
      assert.ok(!(e instanceof DeniedError))
      assert.equal(e.code, 'approval_required')
      assert.equal(e.approvalRequest.condition, 'amount > 100')
      pending = e
      return true
    })
    const approval = act.approve(pending.decision, { approver: 'supervisor@example.com', ttl: 900 })
    // The approval covers exactly that request: not another amount, and only once.
    await assert.rejects(tools.processRefund({ customer: '42', order: '1004', amount: 130, approval }), {
      code: 'approval_invalid',
    })
    assert.deepEqual(await tools.processRefund({ customer: '42', order: '1004', amount: 120, approval }), {
      refunded: 120,
    })
    await assert.rejects(tools.processRefund({ customer: '42', order: '1004', amount: 120, approval }), {
      code: 'approval_replayed',
    })
    assert.deepEqual(done, [
      ['read', '1001'],
      ['refund', '1001', 18.5],
      ['refund', '1004', 120],
    ])

    await act.flushAudit()
    const count = verifyAuditLog(fs.readFileSync(auditFile, 'utf8'), { start: GENESIS_HASH })
    assert.equal(count, 9) // logAllActions: allows are recorded too
  } finally {
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('five refunds a day, then rate_limited until the window rolls', async () => {
  const { act, token, clock, dir } = setup()
  try {
    const req = { token, action: 'process_refund', resource: 'order://customer:42/1005', context: { amount: 10 } }
    // A dry run consumes nothing.
    for (let i = 0; i < 10; i++) assert.equal(act.check(req).outcome, 'allow')
    for (let i = 0; i < 5; i++) assert.equal(act.validate(req).reason, 'allowed', `refund ${i + 1}`)
    const d = act.validate(req)
    assert.equal(d.reason, 'rate_limited')
    assert.match(d.message, /5 per day/)
    // 24 hours later the first refund leaves the window (the token is re-issued: it lives an hour).
    clock.advance(24 * 3600 * 1000 + 1)
    const fresh = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
    assert.equal(act.validate({ ...req, token: fresh }).reason, 'allowed')
    assert.equal(act.validate(req).reason, 'token_expired')
  } finally {
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('explain shows what decided', async () => {
  const { act, token, dir } = setup()
  try {
    const d = act.explain({
      token,
      action: 'process_refund',
      resource: 'order://customer:42/1',
      context: { amount: 501 },
    })
    assert.equal(d.reason, 'constraint_failed')
    assert.ok(Array.isArray(d.trace) && d.trace.length >= 3)
    assert.equal(d.trace.at(-1).stage, 'decision')
    assert.equal(d.auditId, '') // explain is a dry run
  } finally {
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
