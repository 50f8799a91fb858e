'use strict'
// Bad input of every parameter gives the documented error code (README.md,
// "Errors"). A bad *agent* input (a forged token, a `..` resource) is not an
// error but a deny with its reason; those cases are checked here too.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const sdk = require('..')
const { ACT, SigningKey, ManualClock, guard, verifyAuditLog, ActError } = sdk

const POLICY = `
agent: bot
policy:
  actions: [refund]
  resources: ["order://{{user.id}}/*"]
  constraints:
    - requireApproval: amount > 100
`
const key = SigningKey.generate()
const holder = SigningKey.generate()
const act = new ACT({ policy: POLICY, signingKey: key })
// `parent` names a holder key, so it may delegate; it acts only sealed (docs/tokens.md). `token` acts as is.
const parent = act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, holderKey: holder })
const token = act.issueToken({ agent: 'bot', userContext: { user_id: '7' } })
const req = { token, action: 'refund', resource: 'order://7/1', context: { amount: 1 } }
const big = act.validate({ ...req, context: { amount: 500 } })
test.after(() => act.close())

/** Asserts `fn` throws an ActError with `code` (and the class that code belongs to). */
function throwsCode(fn, code, label) {
  let err
  try {
    fn()
  } catch (e) {
    err = e
  }
  assert.ok(err, `${label}: did not throw`)
  assert.ok(ActError.isActError(err), `${label}: not an ActError: ${err}`)
  assert.equal(err.code, code, `${label}: ${err.name}: ${err.message}`)
  assert.ok(err instanceof Error, label)
  assert.ok(typeof err.message === 'string' && err.message.length > 0, label)
  const cls = {
    invalid_argument: 'ConfigError',
    policy_invalid: 'PolicyError',
    key_invalid: 'KeyError',
    token_invalid: 'TokenError',
    io_error: 'IoError',
    audit_chain_broken: 'AuditChainError',
  }[code]
  assert.equal(err.name, cls, label)
  assert.ok(sdk[cls].isInstance(err), label)
}

const cases = {
  'new ACT': [
    [() => new ACT(), 'invalid_argument'],
    [() => new ACT(null), 'invalid_argument'],
    [() => new ACT('policies.yaml'), 'invalid_argument'],
    [() => new ACT({}), 'invalid_argument'],
    [() => new ACT({ polcyFile: 'x.yaml' }), 'invalid_argument'],
    [() => new ACT({ policyFile: 5 }), 'invalid_argument'],
    [() => new ACT({ policyFile: '/nonexistent/act/policies.yaml' }), 'io_error'],
    [() => new ACT({ policy: 5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, policyFile: 'x.yaml' }), 'invalid_argument'],
    [
      () => new ACT({ policy: 'agent: bot\npolicy:\n  actions: [a]\n  resources: [b]\n  bogus: 1\n' }),
      'policy_invalid',
    ],
    [() => new ACT({ policy: POLICY, policyName: 5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, signingKey: 'secret' }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, signingKey: key.toJwk() }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, trust: key.publicKey }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, trust: [5] }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, trust: ['rsa:abc'] }), 'key_invalid'],
    [() => new ACT({ policy: POLICY, trust: ['ed25519:AAAA'] }), 'key_invalid'],
    [() => new ACT({ policy: POLICY, audience: 5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, audience: '' }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, issuer: ' ' }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, leeway: -1 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, leeway: 1.5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, leeway: '30' }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, leeway: 86_401 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, leeway: Number.NaN }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, maxDelegationDepth: 0 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, maxDelegationDepth: -2 }), 'invalid_argument'],
    // The core's rules for lifetimes, as in Python: whole seconds, at least 1.
    [() => new ACT({ policy: POLICY, maxStaleness: 0 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, maxStaleness: 2.5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, maxStaleness: Number.POSITIVE_INFINITY }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, audit: 5 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, audit: { path: 'a.jsonl' } }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, audit: { callback: 'log' } }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY, audit: '/nonexistent/act/audit.jsonl' }), 'io_error'],
    [() => new ACT({ policy: POLICY, clock: Date.now() }), 'invalid_argument'],
  ],
  validate: [
    [() => act.validate(), 'invalid_argument'],
    [() => act.validate(null), 'invalid_argument'],
    [() => act.validate([token, 'refund']), 'invalid_argument'],
    [() => act.validate({ ...req, token: undefined }), 'invalid_argument'],
    [() => act.validate({ ...req, token: 5 }), 'invalid_argument'],
    [() => act.validate({ ...req, action: null }), 'invalid_argument'],
    [() => act.validate({ ...req, resource: ['order://7/1'] }), 'invalid_argument'],
    [() => act.validate({ ...req, context: 'amount=1' }), 'invalid_argument'],
    [() => act.validate({ ...req, context: [1] }), 'invalid_argument'],
    [() => act.validate({ ...req, context: new Map() }), 'invalid_argument'],
    [() => act.validate({ ...req, context: { n: 10n } }), 'invalid_argument'],
    [
      () => {
        const loop = { a: 1 }
        loop.self = loop
        act.validate({ ...req, context: loop })
      },
      'invalid_argument',
    ],
    [() => act.validate({ ...req, approval: 5 }), 'invalid_argument'],
    [() => act.check({ ...req, token: null }), 'invalid_argument'],
    [() => act.explain({ ...req, context: 7 }), 'invalid_argument'],
  ],
  issueToken: [
    [() => act.issueToken(), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, tll: 60 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 5, userContext: { user_id: '7' } }), 'invalid_argument'],
    [() => act.issueToken({ agent: '', userContext: { user_id: '7' } }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'nobody', userContext: { user_id: '7' } }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot' }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: 'u7' }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: {} }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '' } }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, agentContext: 'x' }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, policy: ['refund'] }), 'invalid_argument'],
    [
      () => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, policy: { actions: ['x'] } }),
      'policy_invalid',
    ],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, ttl: -1 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, ttl: 0 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, ttl: 1.5 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, ttl: '60' }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, ttl: 31 * 86400 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, holderKey: 'nope' }), 'key_invalid'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7' }, holderKey: 5 }), 'invalid_argument'],
    [() => act.issueToken({ agent: 'bot', userContext: { user_id: '7', big: 'x'.repeat(20000) } }), 'token_invalid'],
    [() => new ACT({ policy: POLICY }).issueToken({ agent: 'bot', userContext: { user_id: '7' } }), 'invalid_argument'],
  ],
  delegate: [
    [() => act.delegate(5, { holderKey: holder, agent: 'sub', ttl: 60 }), 'invalid_argument'],
    [() => act.delegate('garbage', { holderKey: holder, agent: 'sub', ttl: 60 }), 'token_invalid'],
    [() => act.delegate(parent), 'invalid_argument'],
    [() => act.delegate(parent, { agent: 'sub', ttl: 60 }), 'invalid_argument'],
    [() => act.delegate(parent, { holderKey: holder.publicKey, agent: 'sub', ttl: 60 }), 'invalid_argument'],
    [() => act.delegate(parent, { holderKey: key, agent: 'sub', ttl: 60 }), 'token_invalid'],
    [() => act.delegate(parent, { holderKey: holder, agent: '', ttl: 60 }), 'invalid_argument'],
    [() => act.delegate(parent, { holderKey: holder, agent: 'sub' }), 'invalid_argument'],
    [() => act.delegate(parent, { holderKey: holder, agent: 'sub', ttl: 0 }), 'invalid_argument'],
    [() => act.delegate(parent, { holderKey: holder, agent: 'sub', ttl: 60, policy: 'refund' }), 'invalid_argument'],
    [
      () => act.delegate(parent, { holderKey: holder, agent: 'sub', ttl: 60, policy: { actions: [] } }),
      'policy_invalid',
    ],
    [() => act.delegate(parent, { holderKey: holder, agent: 'sub', ttl: 60, nextHolderKey: 'x' }), 'key_invalid'],
    [() => act.delegate(parent, { holderKey: holder, agent: 'sub', ttl: 60, agentContext: 1 }), 'invalid_argument'],
  ],
  approve: [
    [() => act.approve(5, { approver: 'a', ttl: 60 }), 'invalid_argument'],
    [() => act.approve({}, { approver: 'a', ttl: 60 }), 'invalid_argument'],
    [() => act.approve('short', { approver: 'a', ttl: 60 }), 'invalid_argument'],
    [() => act.approve(big), 'invalid_argument'],
    [() => act.approve(big, { ttl: 60 }), 'invalid_argument'],
    [() => act.approve(big, { approver: ' ', ttl: 60 }), 'invalid_argument'],
    [() => act.approve(big, { approver: 'a' }), 'invalid_argument'],
    [() => act.approve(big, { approver: 'a', ttl: 0 }), 'invalid_argument'],
    [() => act.approve(big, { approver: 'a', ttl: 8 * 86400 }), 'invalid_argument'],
    [() => new ACT({ policy: POLICY }).approve(big, { approver: 'a', ttl: 60 }), 'invalid_argument'],
  ],
  SigningKey: [
    [() => new SigningKey(), 'invalid_argument'],
    [() => SigningKey.fromSeed('AAAA'), 'invalid_argument'],
    [() => SigningKey.fromSeed(new Uint8Array(31)), 'key_invalid'],
    [() => SigningKey.fromPem(5), 'invalid_argument'],
    [() => SigningKey.fromPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'key_invalid'],
    [() => SigningKey.fromPem('hello'), 'key_invalid'],
    [() => SigningKey.fromJwk(5), 'invalid_argument'],
    [() => SigningKey.fromJwk('not json'), 'key_invalid'],
    [() => SigningKey.fromJwk({ kty: 'EC' }), 'key_invalid'],
    [() => SigningKey.fromJwk(key.publicJwk()), 'key_invalid'],
  ],
  ManualClock: [
    [() => new ManualClock('now'), 'invalid_argument'],
    [() => new ManualClock(Number.NaN), 'invalid_argument'],
    [() => new ManualClock(1.5), 'invalid_argument'],
    [() => new ManualClock(0).advance('1s'), 'invalid_argument'],
    [() => new ManualClock(0).set(Infinity), 'invalid_argument'],
  ],
  guard: [
    [() => guard({}, { action: 'a', resource: 'r', token }, async () => 1), 'invalid_argument'],
    [() => guard(act, null, async () => 1), 'invalid_argument'],
    [() => guard(act, { resource: 'r', token }, async () => 1), 'invalid_argument'],
    [() => guard(act, { action: 'a', resource: 5, token }, async () => 1), 'invalid_argument'],
    [() => guard(act, { action: 'a', resource: 'r' }, async () => 1), 'invalid_argument'],
    [() => guard(act, { action: 'a', resource: 'r', token, extra: 1 }, async () => 1), 'invalid_argument'],
    [() => guard(act, { action: 'a', resource: 'r', token }, 'fn'), 'invalid_argument'],
  ],
  verifyAuditLog: [
    [() => verifyAuditLog(5), 'invalid_argument'],
    [() => verifyAuditLog('{"not": "a record"}'), 'audit_chain_broken'],
    [() => verifyAuditLog('', { start: 5 }), 'invalid_argument'],
  ],
}

for (const [api, list] of Object.entries(cases)) {
  test(`bad input to ${api} throws the documented code`, () => {
    for (const [i, [fn, code]] of list.entries()) throwsCode(fn, code, `${api} case ${i}`)
  })
}

test('bad agent input is a deny with its reason, not an exception', () => {
  const reason = (r) => act.validate({ ...req, ...r }).reason
  assert.equal(reason({}), 'allowed')
  assert.equal(reason({ token: '' }), 'token_malformed')
  assert.equal(reason({ token: 'not.a.token' }), 'token_malformed')
  assert.equal(reason({ token: 'x'.repeat(17000) }), 'token_too_large')
  assert.equal(reason({ action: '' }), 'request_invalid')
  assert.equal(reason({ action: 'refund *' }), 'request_invalid')
  assert.equal(reason({ resource: 'order://7/../8/1' }), 'resource_invalid')
  assert.equal(reason({ resource: 'order://7/%2e%2e/1' }), 'resource_invalid')
  assert.equal(reason({ context: {} }), 'context_invalid')
  assert.equal(reason({ context: { amount: 'lots' } }), 'context_invalid')
  assert.equal(reason({ context: { amount: 500 }, approval: 'junk' }), 'approval_invalid')
  assert.equal(reason({ context: null }), 'context_invalid')
})

test('a closed client refuses calls with invalid_argument', async () => {
  const c = new ACT({ policy: POLICY, signingKey: key })
  await c.close()
  await c.close() // twice is fine
  assert.equal(c.status.closed, true)
  throwsCode(() => c.validate(req), 'invalid_argument', 'validate after close')
  throwsCode(
    () => c.issueToken({ agent: 'bot', userContext: { user_id: '7' } }),
    'invalid_argument',
    'issue after close',
  )
  await assert.rejects(c.reload(), { code: 'invalid_argument', name: 'ConfigError' })
  await assert.rejects(c.flushAudit(), { code: 'invalid_argument' })
})

test('reload of a broken policy rejects with policy_invalid and keeps serving the old one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-reload-'))
  const file = path.join(dir, 'policies.yaml')
  fs.writeFileSync(file, POLICY)
  const c = new ACT({ policyFile: file, signingKey: key })
  try {
    fs.writeFileSync(file, POLICY.replace('actions:', 'actons:'))
    await assert.rejects(c.reload(), (e) => {
      assert.equal(e.code, 'policy_invalid')
      assert.ok(e instanceof sdk.PolicyError)
      assert.equal(e.diagnostics[0].file, file)
      assert.equal(e.diagnostics[0].key, 'policy.actons')
      assert.ok(e.diagnostics[0].line > 0)
      return true
    })
    assert.equal(c.status.snapshotVersion, 1)
    assert.equal(c.validate(req).reason, 'allowed')
    fs.rmSync(file)
    await assert.rejects(c.reload(), { code: 'io_error', name: 'IoError' })
  } finally {
    await c.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
