'use strict'
// The package surface: entry points, types file, error classes across
// duplicate installs, keys, audit callbacks, reload, delegation, panics.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const sdk = require('..')
const { ACT, SigningKey, ManualClock, ActError, PolicyError, ConfigError, InternalError, REASONS } = sdk

const ROOT = path.join(__dirname, '..')
const DTS = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
const POLICY = `
agent: bot
policy:
  actions: [refund, read]
  resources: ["order://{{user.id}}/*"]
  constraints:
    refund:
      maxAmount: 100
`

test('CommonJS and ESM entry points give the same objects', async () => {
  const esm = await import('act-sdk')
  for (const name of Object.keys(sdk)) assert.equal(esm[name], sdk[name], name)
  assert.equal(esm.default, sdk)
  const pkg = require('../package.json')
  assert.equal(pkg.exports['.'].require, './index.js')
  assert.equal(pkg.exports['.'].import, './index.mjs')
})

test('index.d.ts declares every runtime export and every reason code', () => {
  for (const name of Object.keys(sdk)) {
    assert.match(DTS, new RegExp(`export declare (class|function|const) ${name}\\b`), `index.d.ts lacks ${name}`)
  }
  const declared = [...DTS.matchAll(/\| '([a-z_]+)'/g)].map((m) => m[1])
  for (const code of REASONS)
    assert.ok(declared.includes(code) || DTS.includes(`'${code}'`), `index.d.ts lacks reason ${code}`)
  assert.ok(REASONS.includes('rate_limited') && REASONS.length > 30)
})

test('error checks work across duplicate installs of the package', () => {
  // A second copy of errors.js, as a second install in node_modules would load.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-dup-'))
  try {
    fs.copyFileSync(path.join(ROOT, 'errors.js'), path.join(dir, 'errors.js'))
    const other = require(path.join(dir, 'errors.js'))
    assert.notEqual(other.PolicyError, PolicyError)
    const foreign = new other.PolicyError('bad', 'policy_invalid', { diagnostics: [] })
    assert.ok(ActError.isActError(foreign))
    assert.ok(PolicyError.isInstance(foreign))
    assert.ok(foreign instanceof PolicyError)
    assert.ok(foreign instanceof ActError)
    assert.ok(foreign instanceof Error)
    assert.ok(!ConfigError.isInstance(foreign))
    assert.ok(!(foreign instanceof ConfigError))
    const mine = new ConfigError('x')
    assert.ok(other.ActError.isActError(mine))
    assert.ok(mine instanceof other.ConfigError)
    assert.equal(mine.code, 'invalid_argument')
    assert.equal(mine.name, 'ConfigError')
    assert.ok(!ActError.isActError(new Error('plain')))
    assert.ok(!ActError.isActError(null))
    assert.ok(!ActError.isActError({ code: 'policy_invalid' }))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a Rust panic becomes an InternalError with code internal, and the process goes on', () => {
  const native = require('../native.js').load()
  const { fromNative } = require('../errors.js')
  let raw
  try {
    native._panicForTests()
  } catch (e) {
    raw = e
  }
  assert.equal(raw.code, 'internal')
  const e = fromNative(raw)
  assert.ok(e instanceof InternalError)
  assert.equal(e.code, 'internal')
  assert.match(e.message, /deliberate panic/)
  // Still alive and working.
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate() })
  const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
  assert.equal(act.validate({ token, action: 'read', resource: 'order://1/2' }).reason, 'allowed')
  return act.close()
})

test("a core error keeps its source chain as `cause`; timeouts left out are the core's defaults", async () => {
  assert.throws(
    () => new ACT({ policyFile: path.join(os.tmpdir(), 'act-no-such-dir', 'policy.yaml') }),
    (e) => e.code === 'io_error' && e.cause instanceof Error && e.cause.message.length > 0,
  )
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate() })
  assert.equal(await act.ready(), 1)
  assert.equal(await act.waitAuditDelivered(), true)
  await assert.rejects(act.ready(-1), { code: 'invalid_argument', message: /timeoutMs/ })
  await assert.rejects(act.waitForApproval('x'), { code: 'invalid_argument', message: /endpoint/ })
  await act.close()
})

test('SigningKey round-trips through seed, PEM and JWK', () => {
  const seed = Buffer.alloc(32, 7)
  const k = SigningKey.fromSeed(seed)
  assert.equal(SigningKey.fromSeed(new Uint8Array(seed)).kid, k.kid)
  assert.equal(SigningKey.fromPem(k.toPem()).kid, k.kid)
  assert.equal(SigningKey.fromJwk(k.toJwk()).kid, k.kid)
  assert.equal(SigningKey.fromJwk(JSON.stringify(k.toJwk())).kid, k.kid)
  assert.equal(k.toJwk().d, seed.toString('base64url'))
  assert.match(k.publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/)
  assert.match(k.toPem(), /^-----BEGIN PRIVATE KEY-----\n/)
  assert.deepEqual(Object.keys(k.publicJwk()).sort(), ['crv', 'kid', 'kty', 'x'])
  assert.notEqual(SigningKey.generate().kid, SigningKey.generate().kid)
  // Private material stays out of logs and JSON.
  assert.ok(!JSON.stringify(k).includes(k.toJwk().d))
  assert.ok(!require('node:util').inspect(k).includes(k.toJwk().d))
  // RFC 8037 A.3 thumbprint.
  const rfc = SigningKey.fromJwk({
    kty: 'OKP',
    crv: 'Ed25519',
    d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
    x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  })
  assert.equal(rfc.kid, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
})

test('audit callbacks get every record, in chain order, without blocking', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-audit-'))
  const file = path.join(dir, 'audit.jsonl')
  const seen = []
  const act = new ACT({
    policy: POLICY,
    signingKey: SigningKey.generate(),
    audit: [
      { file, callback: (r) => seen.push(r) },
      () => {
        throw new Error('a broken callback does not stop the others')
      },
    ],
  })
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
    const n = 2000
    for (let i = 0; i < n; i++) {
      act.validate({ token, action: 'refund', resource: `order://1/${i}`, context: { amount: i % 200 } })
    }
    // validate returned before any callback ran: they run on later turns of the event loop.
    assert.equal(seen.length, 0)
    await act.flushAudit()
    assert.equal(seen.length, n)
    for (let i = 1; i < n; i++) assert.equal(seen[i].prevHash, seen[i - 1].hash)
    assert.equal(seen[0].prevHash, sdk.GENESIS_HASH)
    const r = seen[150]
    assert.equal(r.outcome, 'deny')
    assert.equal(r.reason, 'constraint_failed')
    assert.deepEqual(r.context, { amount: 150 })
    assert.equal(r.agent, 'bot')
    assert.equal(r.subject, '1')
    assert.equal(typeof r.latencyUs, 'number')
    assert.equal(r.constraint, 'bot/refund/maxAmount')
    assert.equal(seen[0].constraint, null)
    // The record is the core's, field for field (camelCase; `context` keeps its own keys).
    const line = JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[150])
    const camel = (k) => k.replace(/_([a-z])/g, (_m, c) => c.toUpperCase())
    assert.deepEqual(Object.keys(r).sort(), Object.keys(line).map(camel).sort())
    assert.equal(r.hash, line.hash)
    assert.equal(sdk.verifyAuditLog(fs.readFileSync(file, 'utf8'), { start: sdk.GENESIS_HASH }), n)
    const st = act.status
    assert.equal(st.auditWritten, n)
    assert.deepEqual(act.auditCallbacks, { delivered: n, errors: n })
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(warnings.some((w) => w.name === 'ActAuditWarning'))
  } finally {
    process.off('warning', onWarning)
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('close delivers the records still queued', async () => {
  const seen = []
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate(), audit: (r) => seen.push(r.id) })
  const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
  const ids = []
  for (let i = 0; i < 100; i++) ids.push(act.validate({ token, action: 'read', resource: `order://1/${i}` }).auditId)
  await act.close()
  assert.deepEqual(seen, ids)
})

test('verifyAuditLog finds an edited record', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-audit-'))
  const file = path.join(dir, 'audit.jsonl')
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate(), audit: file })
  const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
  for (let i = 0; i < 3; i++)
    act.validate({ token, action: 'refund', resource: 'order://1/1', context: { amount: 500 } })
  await act.close()
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  lines[1] = lines[1].replace('"amount":500', '"amount":5')
  assert.throws(
    () => sdk.verifyAuditLog(lines.join('\n')),
    (e) => {
      assert.ok(e instanceof sdk.AuditChainError)
      assert.equal(e.code, 'audit_chain_broken')
      assert.equal(e.line, 2)
      return true
    },
  )
  fs.rmSync(dir, { recursive: true, force: true })
})

test('reload swaps in the edited policy file without a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-reload-'))
  const file = path.join(dir, 'policies.yaml')
  fs.writeFileSync(file, POLICY)
  const act = new ACT({ policyFile: file, signingKey: SigningKey.generate() })
  try {
    const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
    const req = { token, action: 'refund', resource: 'order://1/1', context: { amount: 150 } }
    assert.equal(act.validate(req).reason, 'constraint_failed')
    fs.writeFileSync(file, POLICY.replace('maxAmount: 100', 'maxAmount: 200'))
    const pending = act.reload()
    // The event loop is free while the file is read and compiled.
    let ticked = false
    setImmediate(() => (ticked = true))
    assert.equal(await pending, 2)
    assert.ok(ticked)
    assert.equal(act.validate(req).reason, 'allowed')
    assert.equal(act.validate(req).snapshotVersion, 2)
    assert.deepEqual(act.status.agents, ['bot'])
  } finally {
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('delegation narrows, and the chain cannot outlive its parent', async () => {
  const holder = SigningKey.generate()
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate(), clock })
  try {
    const parent = act.issueToken({ agent: 'bot', userContext: { user_id: '1' }, ttl: 120, holderKey: holder })
    const child = act.delegate(parent, {
      holderKey: holder,
      agent: 'reader',
      policy: { actions: ['read'], resources: ['order://1/*'] },
      ttl: 3600,
    })
    assert.equal(child.split('~').length, 2)
    assert.equal(act.validate({ token: child, action: 'read', resource: 'order://1/5' }).reason, 'allowed')
    assert.equal(
      act.validate({ token: child, action: 'refund', resource: 'order://1/5', context: { amount: 1 } }).reason,
      'action_not_allowed',
    )
    clock.advance(121_000 + 30_000)
    assert.equal(act.validate({ token: child, action: 'read', resource: 'order://1/5' }).reason, 'token_expired')
  } finally {
    await act.close()
  }
})

test('guard passes arguments and this, and uses the first argument as context', async () => {
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate() })
  try {
    const token = act.issueToken({ agent: 'bot', userContext: { user_id: '1' } })
    const tool = act.guard(
      { token, action: 'refund', resource: (a) => `order://1/${a.order}` },
      async function refund(a) {
        return [this?.tag, a.amount]
      },
    )
    assert.equal(tool.name, 'guarded refund')
    assert.deepEqual(await tool.call({ tag: 't' }, { order: 3, amount: 50 }), ['t', 50])
    await assert.rejects(tool({ order: 3, amount: 101 }), { name: 'DeniedError', code: 'constraint_failed' })
    await assert.rejects(tool({ order: 3 }), { name: 'DeniedError', code: 'context_invalid' })
  } finally {
    await act.close()
  }
})

test('decisions carry non-ASCII text intact', async () => {
  const act = new ACT({ policy: POLICY, signingKey: SigningKey.generate() })
  try {
    const token = act.issueToken({ agent: 'bot', userContext: { user_id: 'jürgen-😀' } })
    const ok = act.validate({ token, action: 'read', resource: 'order://jürgen-😀/köln|1' })
    assert.equal(ok.reason, 'allowed', ok.message)
    assert.equal(ok.subject, 'jürgen-😀')
    assert.equal(ok.rule, 'bot')
    const no = act.validate({ token, action: 'read', resource: 'order://someone/ß-😀|x' })
    assert.equal(no.reason, 'resource_not_allowed')
    assert.ok(no.message.includes('order://someone/ß-😀|x'), no.message)
    assert.equal(no.agent, 'bot')
    assert.equal(no.subject, 'jürgen-😀')
    assert.equal(no.approvalRequest, null)
  } finally {
    await act.close()
  }
})
