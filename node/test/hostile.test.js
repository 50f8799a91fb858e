'use strict'
// Every exported function, constructor, method and option of act-sdk under hostile input.
//
// The surface is enumerated: Object.keys of the module, the static and prototype members of every
// exported class, the option names each options object accepts (read from the package's own
// "unknown option ... (known: ...)" error) and the parameter names of each method's source. A new
// export, method or option without cases here fails "every export ... has hostile cases".
//
// Each parameter (and option) gets each hostile value in turn, the rest valid. Allowed results
// (README.md, "Bad input"): an ActError with a non-empty code (never `internal`), a normal return,
// a rejection with an ActError for async methods, or the hostile object's own exception passed
// through (a Proxy or toJSON that throws). A decision from validate/check/explain never allows
// (except an ordinary number where the amount goes, or anything in an unread context key).
// Never a crash, a hang, a TypeError/RangeError from inside the package, or a Rust panic.
// The native addon's own exports get the same values and must only throw Errors or return.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const sdk = require('..')
const native = require('../native.js').load()
const { ACT, SigningKey, ManualClock, ActError } = sdk

const POLICY = `
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
`
const ORDER = 'order://customer:42/1001'
const MIB16 = 16 << 20

class EvilError extends Error {}

function deepObject(n) {
  let o = {}
  for (let i = 0; i < n; i++) o = { a: o }
  return o
}
function deepArray(n) {
  let a = []
  for (let i = 0; i < n; i++) a = [a]
  return a
}
const cyclic = { a: 1 }
cyclic.self = cyclic
const evil = () => {
  throw new EvilError('a hostile object threw')
}

const HOSTILE = {
  '16MiB string': 'x'.repeat(MIB16),
  '16MiB Uint8Array': new Uint8Array(MIB16).fill(0xff),
  Uint8Array: new Uint8Array(64).fill(0xff),
  'depth-10000 object': deepObject(10_000),
  'depth-10000 array': deepArray(10_000),
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
  '-0': -0,
  '2**64 as a number': 2 ** 64,
  '2**64 as a BigInt': 2n ** 64n,
  'MAX_SAFE_INTEGER + 2': Number.MAX_SAFE_INTEGER + 2,
  null: null,
  undefined,
  number: 5,
  fraction: 1.5,
  boolean: true,
  array: ['a'],
  object: { a: 1 },
  Symbol: Symbol('hostile'),
  function: () => 1,
  Map: new Map([['a', 1]]),
  Date: new Date(0),
  'cyclic object': cyclic,
  'throwing toJSON': { toJSON: evil },
  'throwing getter': Object.defineProperty({}, 'a', { enumerable: true, get: evil }),
  'Proxy that throws': new Proxy({}, { get: evil, getPrototypeOf: evil, ownKeys: evil, has: evil }),
  'lone high surrogate': '\ud800',
  'lone low surrogate': 'x\udc00',
  'NUL inside': 'a\u0000b',
  'empty string': '',
  whitespace: ' \t\n',
}

// Parameters whose value crosses to the core as JSON text (JSON.stringify).
const JSON_PARAMS = new Set(['context', 'userContext', 'agentContext', 'policy', 'args', 'options'])

// [case, parameter, hostile value] where an allow is right.
const MAY_ALLOW = new Set([
  ...['number', 'fraction', '-0'].map((h) => `context.amount|${h}`),
  ...Object.keys(HOSTILE).map((h) => `context.note|${h}`),
])

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'act-hostile-'))
const policyFile = path.join(tmp, 'policies.yaml')
fs.writeFileSync(policyFile, POLICY)
const logFile = path.join(tmp, 'audit.jsonl')
fs.writeFileSync(logFile, '')
process.chdir(tmp) // hostile strings that happen to be valid file names land here
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

const key = SigningKey.generate()
const holder = SigningKey.generate()
const clock = new ManualClock(1_800_000_000_000)
const act = new ACT({ policy: POLICY, signingKey: key, clock })
const alice = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' }, ttl: 3600 })
const parent = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' }, holderKey: holder })
const pending = act.check({ token: alice, action: 'process_refund', resource: ORDER, context: { amount: 200 } })
assert.equal(pending.outcome, 'approval_required')
test.after(() => act.close())

let closedPort = 1
test.before(async () => {
  closedPort = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
})

/** Runs one call; fails on anything outside the contract; resolves to [kind, value]. */
async function outcome(label, fn, jsErrors = false) {
  let value
  try {
    value = fn()
    if (value instanceof Promise) value = await value
  } catch (e) {
    if (e instanceof EvilError) return ['evil', e]
    if (jsErrors && (e instanceof TypeError || e instanceof RangeError) && !ActError.isActError(e)) return [e.name, e]
    assert.ok(ActError.isActError(e), `${label}: threw ${e?.constructor?.name}: ${e?.message}`)
    assert.ok(typeof e.code === 'string' && e.code.length > 0, `${label}: no code`)
    assert.notEqual(e.code, 'internal', `${label}: ${e.message}`)
    assert.ok(typeof e.message === 'string' && e.message.length > 0, `${label}: no message`)
    return ['ActError', e]
  }
  return ['returned', value]
}

// ---- the cases: valid parameters by name, and how to call with them ----

const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
const request = (p) => ({
  token: p.token,
  action: p.action,
  resource: p.resource,
  context: p.context,
  approval: p.approval,
})
const validateLike = (m) => ({
  params: { token: alice, action: 'process_refund', resource: ORDER, context: { amount: 200 }, approval: undefined },
  nested: ['context.amount', 'context.note'],
  call: (p) => act[m](request(p)),
  decides: true,
})

const CASES = {
  'ACT(policyFile)': {
    params: {
      policyFile,
      signingKey: key,
      trust: undefined,
      audience: undefined,
      issuer: undefined,
      leeway: undefined,
      maxDelegationDepth: undefined,
      audit: undefined,
      auditKey: undefined,
      clock: undefined,
      watch: undefined,
      counters: undefined,
    },
    call: (p) => new ACT(defined(p)),
    options: 'ACT',
  },
  'ACT(policy)': {
    params: { policy: POLICY, policyName: 'inline.yaml' },
    call: (p) => new ACT(defined(p)),
    options: 'ACT',
  },
  'ACT(endpoint)': {
    params: {
      endpoint: 'http://127.0.0.1:1',
      trustKey: key.publicKey,
      apiKey: 'k',
      cacheDir: undefined,
      maxStaleness: undefined,
      issuerApiKey: undefined,
      shipAudit: undefined,
    },
    call: (p) =>
      new ACT(
        defined({
          ...p,
          endpoint: p.endpoint === 'http://127.0.0.1:1' ? `http://127.0.0.1:${closedPort}` : p.endpoint,
        }),
      ),
    options: 'ACT',
  },
  'ACT#validate': validateLike('validate'),
  'ACT#check': validateLike('check'),
  'ACT#explain': validateLike('explain'),
  'ACT#issueToken': {
    params: {
      agent: 'customer-support-bot',
      userContext: { user_id: '42' },
      agentContext: undefined,
      policy: undefined,
      ttl: undefined,
      holderKey: undefined,
    },
    nested: ['userContext.user_id', 'policy.actions'],
    call: (p) => act.issueToken(defined(p)),
    options: 'issueToken',
  },
  'ACT#issueTokenAsync': {
    params: {
      agent: 'customer-support-bot',
      userContext: { user_id: '42' },
      agentContext: undefined,
      policy: undefined,
      ttl: undefined,
      holderKey: undefined,
    },
    nested: ['userContext.user_id', 'policy.actions'],
    call: (p) => act.issueTokenAsync(defined(p)),
    options: 'issueToken',
  },
  'ACT#delegate': {
    params: {
      token: parent,
      holderKey: holder,
      agent: 'sub',
      agentContext: undefined,
      policy: undefined,
      ttl: 60,
      nextHolderKey: undefined,
    },
    call: ({ token, ...o }) => act.delegate(token, defined(o)),
    options: 'delegate',
  },
  'ACT#seal': {
    params: { token: parent, holderKey: holder, ttl: 60 },
    call: ({ token, ...o }) => act.seal(token, defined(o)),
    options: 'seal',
  },
  'ACT#approve': {
    params: { requestOrId: pending, approver: 'supervisor', ttl: 60 },
    call: ({ requestOrId, ...o }) => act.approve(requestOrId, defined(o)),
    options: 'approve',
  },
  'ACT#ready': { params: { timeoutMs: 10 }, call: (p) => act.ready(p.timeoutMs) },
  'ACT#requestApproval': { params: { decision: pending }, call: (p) => act.requestApproval(p.decision) },
  'ACT#waitForApproval': {
    params: { handle: 'abc', timeoutMs: 10 },
    call: (p) => act.waitForApproval(p.handle, p.timeoutMs),
  },
  'ACT#inspectToken': { params: { token: alice }, call: (p) => act.inspectToken(p.token) },
  'ACT#waitAuditDelivered': { params: { timeoutMs: 10 }, call: (p) => act.waitAuditDelivered(p.timeoutMs) },
  'ACT#reload': { params: {}, call: () => act.reload() },
  'ACT#flushAudit': { params: {}, call: () => act.flushAudit() },
  'ACT#close': { params: {}, call: () => new ACT({ policy: POLICY }).close() },
  'ACT#guard': {
    params: {
      action: 'process_refund',
      resource: ORDER,
      token: alice,
      context: undefined,
      approval: undefined,
      fn: async () => 'ran',
    },
    call: ({ fn, ...spec }) => act.guard(defined(spec), fn),
    options: 'guard',
  },
  guard: {
    params: { act, action: 'process_refund', resource: ORDER, token: alice, fn: async () => 'ran' },
    call: ({ act: a, fn, ...spec }) => sdk.guard(a, spec, fn),
    options: 'guard',
  },
  'guard(tool)': {
    // The guarded tool, called with hostile arguments: its first argument is the context.
    params: { args: { amount: 20 } },
    nested: ['args.amount', 'args.note'],
    call: (p) => sdk.guard(act, { action: 'process_refund', resource: ORDER, token: alice }, async () => 'ran')(p.args),
  },
  verifyAuditLog: {
    params: { text: '', start: sdk.GENESIS_HASH, checkpoints: undefined, auditKey: undefined },
    call: ({ text, ...o }) => sdk.verifyAuditLog(text, defined(o)),
    options: 'verifyAuditLog',
  },
  SigningKey: { params: { inner: undefined }, call: (p) => new SigningKey(p.inner) },
  'SigningKey.generate': { params: {}, call: () => SigningKey.generate() },
  'SigningKey.fromSeed': { params: { seed: new Uint8Array(32) }, call: (p) => SigningKey.fromSeed(p.seed) },
  'SigningKey.fromPem': { params: { pem: key.toPem() }, call: (p) => SigningKey.fromPem(p.pem) },
  'SigningKey.fromJwk': { params: { jwk: key.toJwk() }, call: (p) => SigningKey.fromJwk(p.jwk) },
  'SigningKey#toPem': { params: {}, call: () => key.toPem() },
  'SigningKey#toJwk': { params: {}, call: () => key.toJwk() },
  'SigningKey#publicJwk': { params: {}, call: () => key.publicJwk() },
  'SigningKey#toString': { params: {}, call: () => key.toString() },
  'SigningKey#toJSON': { params: {}, call: () => key.toJSON() },
  ManualClock: { params: { ms: 0 }, call: (p) => new ManualClock(p.ms) },
  'ManualClock#now': { params: {}, call: () => new ManualClock(0).now() },
  'ManualClock#advance': { params: { ms: 1 }, call: (p) => new ManualClock(0).advance(p.ms) },
  'ManualClock#set': { params: { ms: 1 }, call: (p) => new ManualClock(0).set(p.ms) },
  DeniedError: { params: { decision: pending }, call: (p) => new sdk.DeniedError(p.decision) },
  ApprovalRequiredError: { params: { decision: pending }, call: (p) => new sdk.ApprovalRequiredError(p.decision) },
}
for (const name of [
  'ActError',
  'PolicyError',
  'TokenError',
  'KeyError',
  'ConfigError',
  'SnapshotError',
  'IoError',
  'InternalError',
  'AuditChainError',
  'CounterStoreError',
  'EndpointError',
  'ApprovalDeniedError',
  'ApprovalTimeoutError',
]) {
  const C = sdk[name]
  // Plain JS Error subclasses: `new Error(Symbol())` is the language's own TypeError, and a message
  // nested 10000 deep the language's own RangeError (String() of it).
  CASES[name] = {
    params: { message: 'm', code: 'c', options: undefined },
    call: (p) => new C(p.message, p.code, p.options),
    jsErrors: true,
  }
  CASES[`${name}.isActError`] = { params: { e: new C('m') }, call: (p) => C.isActError(p.e) }
  CASES[`${name}.isInstance`] = { params: { e: new C('m') }, call: (p) => C.isInstance(p.e) }
}
for (const name of ['DeniedError', 'ApprovalRequiredError']) {
  const C = sdk[name]
  CASES[`${name}.isActError`] = { params: { e: null }, call: (p) => C.isActError(p.e) }
  CASES[`${name}.isInstance`] = { params: { e: null }, call: (p) => C.isInstance(p.e) }
}

// Getters: read on live objects (and the client's on a closed one too).
const GETTERS = new Set([
  'ACT#status',
  'ACT#auditCallbacks',
  'ACT#instanceId',
  'SigningKey#publicKey',
  'SigningKey#kid',
  'ApprovalRequiredError#approvalRequest',
])
const CONSTANTS = new Set(['REASONS', 'GENESIS_HASH', 'STATUS_FIELDS'])

// ---- the enumeration ----

function members(name, C) {
  const out = { callables: [], getters: [] }
  if (typeof C !== 'function') return out
  if (/^class\b/.test(Function.prototype.toString.call(C)) || C.prototype) out.callables.push(name)
  for (const k of Object.getOwnPropertyNames(C)) {
    if (['length', 'name', 'prototype', 'defaultCode'].includes(k)) continue
    const d = Object.getOwnPropertyDescriptor(C, k)
    if (typeof d.value === 'function') out.callables.push(`${name}.${k}`)
  }
  // Statics inherited from ActError count for each error class.
  for (let p = Object.getPrototypeOf(C); p && p !== Function.prototype && p !== Error; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, k)
      if (typeof d.value === 'function' && !['length', 'name', 'prototype'].includes(k))
        out.callables.push(`${name}.${k}`)
    }
  }
  for (
    let proto = C.prototype;
    proto && proto !== Object.prototype && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const k of Object.getOwnPropertyNames(proto)) {
      if (k === 'constructor' || k === 'name') continue
      const d = Object.getOwnPropertyDescriptor(proto, k)
      if (d.get) out.getters.push(`${name}#${k}`)
      else if (typeof d.value === 'function') out.callables.push(`${name}#${k}`)
    }
    if (!['ActError'].includes(name) && Object.getPrototypeOf(proto) === sdk.ActError.prototype) break
  }
  return out
}

function surface() {
  const callables = new Set()
  const getters = new Set()
  for (const [name, v] of Object.entries(sdk)) {
    if (CONSTANTS.has(name)) continue
    assert.equal(typeof v, 'function', `${name}: an export that is neither a constant nor a function`)
    const m = members(name, v)
    if (!m.callables.includes(name)) callables.add(name)
    for (const c of m.callables) callables.add(c)
    for (const g of m.getters) getters.add(g)
  }
  return { callables, getters }
}

/** Option names an options object takes, read from the package's own unknown-option error. */
function knownOptions(which) {
  const probe = {
    ACT: () => new ACT({ '~': 1 }),
    issueToken: () => act.issueToken({ '~': 1 }),
    delegate: () => act.delegate(parent, { '~': 1 }),
    approve: () => act.approve(pending, { '~': 1 }),
    seal: () => act.seal(parent, { '~': 1 }),
    guard: () => sdk.guard(act, { '~': 1 }, async () => 1),
    verifyAuditLog: () => sdk.verifyAuditLog('', { '~': 1 }),
  }[which]
  try {
    probe()
  } catch (e) {
    const m = /\(known: ([^)]*)\)/.exec(e.message)
    assert.ok(m, `${which}: no option list in ${e.message}`)
    return m[1].split(', ')
  }
  assert.fail(`${which}: an unknown option was accepted`)
}

/** Parameter names from a function's source (the package's own functions are plain JS). */
function parameterNames(fn, method) {
  let src = Function.prototype.toString.call(fn)
  if (src.startsWith('class')) {
    const at = src.indexOf('constructor(')
    if (at < 0) return []
    src = src.slice(at)
  } else if (method) {
    src = src.slice(src.indexOf(method))
  }
  const open = src.indexOf('(')
  let depth = 0
  let end = open
  for (; end < src.length; end++) {
    if (src[end] === '(') depth++
    else if (src[end] === ')' && --depth === 0) break
  }
  return src
    .slice(open + 1, end)
    .split(',')
    .map((s) => s.split('=')[0].trim())
    .filter((s) => s && !s.startsWith('...'))
}

test('every export, method, option and parameter has hostile cases', () => {
  const { callables, getters } = surface()
  assert.ok(callables.has('ACT#validate') && callables.has('SigningKey.fromSeed') && getters.has('ACT#status'))
  const covered = new Set(Object.keys(CASES).map((k) => k.split('(')[0]))
  const missing = [...callables].filter((c) => !covered.has(c)).sort()
  assert.deepEqual(missing, [], `exported without hostile cases in ${path.basename(__filename)}`)
  const unread = [...getters].filter((g) => !GETTERS.has(g)).sort()
  assert.deepEqual(unread, [], 'getters this test does not read')
  const stale = Object.keys(CASES)
    .filter((k) => !callables.has(k.split('(')[0]))
    .sort()
  assert.deepEqual(stale, [], 'cases for names act-sdk no longer exports')
  // Every option of every options object has hostile values.
  for (const which of ['ACT', 'issueToken', 'delegate', 'seal', 'approve', 'guard', 'verifyAuditLog']) {
    const tried = new Set(
      Object.values(CASES)
        .filter((c) => c.options === which)
        .flatMap((c) => Object.keys(c.params)),
    )
    const untried = knownOptions(which).filter((o) => !tried.has(o))
    assert.deepEqual(untried, [], `${which}: options without hostile values`)
  }
  // Every positional parameter of every method too.
  const positional = {
    'ACT#validate': [ACT.prototype.validate],
    'ACT#ready': [ACT.prototype.ready],
    'ACT#delegate': [ACT.prototype.delegate],
    'ACT#seal': [ACT.prototype.seal],
    'ACT#approve': [ACT.prototype.approve],
    'SigningKey.fromSeed': [SigningKey.fromSeed, 'fromSeed'],
    'SigningKey.fromPem': [SigningKey.fromPem, 'fromPem'],
    'SigningKey.fromJwk': [SigningKey.fromJwk, 'fromJwk'],
    ManualClock: [ManualClock],
    'ManualClock#advance': [ManualClock.prototype.advance],
    'ManualClock#set': [ManualClock.prototype.set],
    verifyAuditLog: [sdk.verifyAuditLog],
    guard: [sdk.guard],
    DeniedError: [sdk.DeniedError],
    SigningKey: [SigningKey],
  }
  for (const [name, [fn, method]] of Object.entries(positional)) {
    const names = parameterNames(fn, method)
    assert.ok(names.length > 0, `${name}: no parameters read from its source`)
    const tried = new Set([...Object.keys(CASES[name].params), 'request', 'spec', 'opts'])
    const untried = names.filter((n) => !tried.has(n) && !(CASES[name].options && ['opts', 'spec'].includes(n)))
    assert.deepEqual(untried, [], `${name}: parameters without hostile values`)
  }
})

function substituted(params, param, value) {
  const out = { ...params }
  if (param.includes('.')) {
    const [outer, inner] = param.split('.')
    const base =
      outer === 'policy' ? { actions: ['read_order'], resources: ['order://customer:42/*'] } : { ...(out[outer] ?? {}) }
    base[inner] = value
    out[outer] = base
  } else {
    out[param] = value
  }
  return out
}

for (const [name, c] of Object.entries(CASES)) {
  test(`hostile values in every parameter of ${name}`, async () => {
    const params = [...Object.keys(c.params), ...(c.nested ?? [])]
    for (const param of params) {
      for (const [h, value] of Object.entries(HOSTILE)) {
        // JSON.stringify turns a typed array into an object with one key per byte: 16 MiB of bytes
        // is 240 MB of JSON and minutes of work, by design of JSON, not of ACT (the 64-byte one stays).
        // An Error's message is String(value): 16 MiB of bytes is a 64 MB string, the language's doing.
        if (h === '16MiB Uint8Array' && (JSON_PARAMS.has(param) || param.includes('.') || c.jsErrors)) continue
        const label = `${name}(${param}=${h})`
        const [kind, result] = await outcome(label, () => c.call(substituted(c.params, param, value)), c.jsErrors)
        if (c.decides && kind === 'returned') {
          assert.ok(
            result.outcome === 'deny' || result.outcome === 'approval_required' || MAY_ALLOW.has(`${param}|${h}`),
            `${label}: ${result.outcome} ${result.reason}`,
          )
        }
        if (kind === 'returned' && name === 'guard(tool)' && !MAY_ALLOW.has(`context.${param.split('.')[1]}|${h}`)) {
          assert.fail(`${label}: the tool ran`)
        }
        if (kind === 'returned' && result instanceof ACT) await result.close()
      }
    }
    if (params.length === 0) await outcome(`${name}()`, () => c.call({}))
  })
}

test('getters read on live objects, and on a closed client', async () => {
  const objects = { ACT: act, SigningKey: key, ApprovalRequiredError: new sdk.ApprovalRequiredError(pending) }
  for (const g of GETTERS) {
    const [cls, prop] = g.split('#')
    await outcome(g, () => objects[cls][prop])
  }
  const c = new ACT({ policy: POLICY, signingKey: key })
  await c.close()
  assert.equal(c.status.closed, true)
  for (const m of ['validate', 'check', 'explain']) {
    const [kind, e] = await outcome(`closed ${m}`, () => c[m]({ token: alice, action: 'x', resource: ORDER }))
    assert.equal(kind, 'ActError')
    assert.equal(e.code, 'invalid_argument')
  }
})

test('lone surrogates in request strings are refused by name, never decided as U+FFFD', () => {
  for (const field of ['token', 'action', 'resource', 'approval']) {
    const r = {
      token: alice,
      action: 'process_refund',
      resource: 'order://customer:42/1',
      context: { amount: 20 },
      [field]: field === 'resource' ? 'order://customer:42/\ud800' : `${field}\udc00`,
    }
    assert.throws(
      () => act.check(r),
      (e) => e.code === 'invalid_argument' && e.message.includes(`\`${field}\``),
    )
  }
  // The same resource with the replacement character itself is an ordinary resource.
  assert.equal(
    act.check({ token: alice, action: 'read_order', resource: 'order://customer:42/\ufffd' }).outcome,
    'allow',
  )
})

test('the native addon: every export takes hostile values with an Error or a value, never a crash', async () => {
  const nativeKey = key[Object.getOwnPropertySymbols(key)[0]]
  const nativeHolder = holder[Object.getOwnPropertySymbols(holder)[0]]
  const options = JSON.stringify({ policy: POLICY })
  const n = new native.NativeAct(options, nativeKey)
  const nk = native.NativeSigningKey.generate()
  const nc = new native.ManualClock(0)
  const id = pending.approvalRequest.id
  // name -> [call, valid arguments]; each position gets each hostile value.
  const nat = {
    NativeAct: [(a) => new native.NativeAct(...a), [options, nativeKey, undefined, undefined, undefined]],
    'NativeAct#decide': [(a) => n.decide(...a), [0, alice, 'process_refund', ORDER, '{"amount":200}', undefined]],
    'NativeAct#seal': [(a) => n.seal(...a), [parent, nativeHolder, 60]],
    'NativeAct#issueToken': [
      (a) => n.issueToken(...a),
      [false, 'customer-support-bot', '{"user_id":"42"}', undefined, undefined, undefined, undefined],
    ],
    'NativeAct#delegate': [(a) => n.delegate(...a), [parent, nativeHolder, 'sub', undefined, undefined, 60, undefined]],
    'NativeAct#approve': [(a) => n.approve(...a), [id, 'supervisor', 60]],
    'NativeAct#reload': [(a) => n.reload(...a), [undefined]],
    'NativeAct#flushAudit': [(a) => n.flushAudit(...a), [undefined]],
    'NativeAct#ready': [(a) => n.ready(...a), [10]],
    'NativeAct#close': [(a) => new native.NativeAct(options).close(...a), [undefined]],
    'NativeAct#status': [(a) => n.status(...a), [undefined]],
    'NativeAct#inspectToken': [(a) => n.inspectToken(...a), [alice]],
    'NativeAct#instanceId': [(a) => n.instanceId(...a), [undefined]],
    'NativeAct#issueToken(remote)': [
      (a) => n.issueToken(...a),
      [true, 'customer-support-bot', '{"user_id":"42"}', undefined, undefined, undefined, undefined],
    ],
    'NativeAct#issuesRemotely': [(a) => n.issuesRemotely(...a), [undefined]],
    'NativeAct#requestApproval': [(a) => n.requestApproval(...a), [JSON.stringify(pending.approvalRequest)]],
    'NativeAct#waitAuditDelivered': [(a) => n.waitAuditDelivered(...a), [10]],
    'NativeAct#waitForApproval': [(a) => n.waitForApproval(...a), [id, 10]],
    statusFields: [(a) => native.statusFields(...a), [undefined]],
    NativeSigningKey: [(a) => new native.NativeSigningKey(...a), [undefined]],
    'NativeSigningKey.generate': [(a) => native.NativeSigningKey.generate(...a), [undefined]],
    'NativeSigningKey.fromSeed': [(a) => native.NativeSigningKey.fromSeed(...a), [new Uint8Array(32)]],
    'NativeSigningKey.fromPem': [(a) => native.NativeSigningKey.fromPem(...a), [key.toPem()]],
    'NativeSigningKey.fromJwk': [(a) => native.NativeSigningKey.fromJwk(...a), [JSON.stringify(key.toJwk())]],
    'NativeSigningKey#toPem': [(a) => nk.toPem(...a), [undefined]],
    'NativeSigningKey#toJwk': [(a) => nk.toJwk(...a), [undefined]],
    'NativeSigningKey#publicJwk': [(a) => nk.publicJwk(...a), [undefined]],
    ManualClock: [(a) => new native.ManualClock(...a), [0]],
    'ManualClock#now': [(a) => nc.now(...a), [undefined]],
    'ManualClock#advance': [(a) => nc.advance(...a), [1]],
    'ManualClock#set': [(a) => nc.set(...a), [1]],
    reasonCodes: [(a) => native.reasonCodes(...a), [undefined]],
    outcomeCodes: [(a) => native.outcomeCodes(...a), [undefined]],
    verifyAuditLog: [(a) => native.verifyAuditLog(...a), ['', undefined, undefined, undefined]],
    _panicForTests: null, // its own test below (each call prints the panic message)
  }
  // The addon's surface, enumerated: every export and static/prototype function has a case.
  const names = []
  for (const [k, v] of Object.entries(native)) {
    if (typeof v !== 'function') continue
    names.push(k)
    for (const s of Object.getOwnPropertyNames(v)) {
      if (typeof v[s] === 'function' && !['length', 'name', 'prototype'].includes(s)) names.push(`${k}.${s}`)
    }
    for (const p of Object.getOwnPropertyNames(v.prototype ?? {})) {
      const d = Object.getOwnPropertyDescriptor(v.prototype, p)
      if (p !== 'constructor' && typeof d.value === 'function') names.push(`${k}#${p}`)
    }
  }
  assert.deepEqual(names.filter((x) => !(x in nat)).sort(), [], 'native exports without hostile cases')
  let calls = 0
  for (const [name, entry] of Object.entries(nat)) {
    if (entry === null) continue
    const [call, valid] = entry
    for (let pos = 0; pos < valid.length; pos++) {
      for (const [h, value] of Object.entries(HOSTILE)) {
        // napi-rs writes the whole value into its type-conversion message: a 16 MiB typed array
        // where a string belongs is a 240 MB message (index.js checks types before any native call).
        if (h === '16MiB Uint8Array' && !(valid[pos] instanceof Uint8Array)) continue
        const args = valid.slice()
        args[pos] = value
        let r
        try {
          r = call(args)
          if (r instanceof Promise) await r
        } catch (e) {
          if (e instanceof EvilError) continue
          assert.ok(e instanceof Error, `${name}[${pos}=${h}]: threw a non-Error ${typeof e}`)
          assert.notEqual(e.code, 'internal', `${name}[${pos}=${h}]: ${e.message}`)
        }
        calls++
        if (r instanceof native.NativeAct) await r.close()
      }
    }
  }
  assert.ok(calls > 500, `only ${calls} native calls`)
  await n.close()
})

test('a deliberate panic in the core reaches JS as InternalError (code internal), and the process goes on', () => {
  let caught
  try {
    native._panicForTests()
  } catch (e) {
    caught = sdk.ActError.isActError(e) ? e : require('../errors.js').fromNative(e, 'panic')
  }
  assert.ok(caught, 'no error thrown')
  assert.equal(caught.name, 'InternalError')
  assert.equal(caught.code, 'internal')
  assert.ok(sdk.InternalError.isInstance(caught))
  assert.match(caught.message, /deliberate panic/)
  assert.equal(act.check({ token: alice, action: 'read_order', resource: ORDER }).outcome, 'allow')
})
