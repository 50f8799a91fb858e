// Times `validate` of an already-seen token against peers, in one run:
// jose jwtVerify (EdDSA), casbin enforceSync and Cedar (cedar-wasm's
// preparsed, stateful statefulIsAuthorized). Prints medians and ratios; it
// asserts nothing about time. A peer that is not installed is skipped.
//
//   node benchmarks/bench.mjs            (after `npm install` and `npm run build`)
//
// What each one does is not the same work, and the table says so: ACT
// verifies a (cached) token, matches the grant, evaluates the constraints,
// counts the rate limit and queues an audit record; jose verifies one
// signature; casbin and Cedar evaluate a policy on already-authenticated input.

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { ACT, SigningKey } = require('../index.js')

const POLICY = `
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 100000000
      requireSecondApproval: amount > 100
    orders:
      onlyOwnOrders: true
      maxRowsPerQuery: 50
    audit:
      logAllActions: true
`

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 25)
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 40)

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Median ns per call of a synchronous `fn`, in batches sized to SAMPLE_MS. */
function timeSync(fn) {
  for (let i = 0; i < 2000; i++) fn() // warm up the JIT and caches
  let batch = 1
  for (;;) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn()
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (ms >= SAMPLE_MS / 4 || batch > 1e7) break
    batch *= 2
  }
  const per = []
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn()
    per.push(Number(process.hrtime.bigint() - t0) / batch)
  }
  return median(per)
}

/** Median ns per call of an async `fn`. */
async function timeAsync(fn) {
  for (let i = 0; i < 200; i++) await fn()
  let batch = 1
  for (;;) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) await fn()
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (ms >= SAMPLE_MS / 4 || batch > 1e6) break
    batch *= 2
  }
  const per = []
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) await fn()
    per.push(Number(process.hrtime.bigint() - t0) / batch)
  }
  return median(per)
}

async function optional(name) {
  try {
    return await import(name)
  } catch {
    return null
  }
}

const rows = []
const skipped = []

// ---- ACT ----
const key = SigningKey.generate()
const act = new ACT({ policy: POLICY, signingKey: key })
const token = act.issueToken({
  agent: 'customer-support-bot',
  userContext: { user_id: '42', roles: ['customer'] },
  ttl: 3600,
})
const request = {
  token,
  action: 'process_refund',
  resource: 'order://customer:42/1001',
  context: { amount: 80, currency: 'USD', reason: 'late' },
}
if (act.validate(request).outcome !== 'allow') throw new Error('bench: the ACT request should be allowed')
rows.push({
  name: 'act-sdk validate (seen token, limit + audit)',
  ns: timeSync(() => act.validate(request)),
  ours: true,
})
await act.flushAudit()
rows.push({ name: 'act-sdk check (seen token, dry run)', ns: timeSync(() => act.check(request)), ours: true })

// ---- jose ----
const jose = await optional('jose')
if (jose) {
  const publicKey = await jose.importJWK(key.publicJwk(), 'EdDSA')
  const ok = await jose.jwtVerify(token, publicKey, { algorithms: ['EdDSA'] })
  if (ok.payload.sub !== '42') throw new Error('bench: jose did not verify')
  rows.push({
    name: 'jose jwtVerify EdDSA (same token)',
    ns: await timeAsync(() => jose.jwtVerify(token, publicKey, { algorithms: ['EdDSA'] })),
  })
} else skipped.push('jose')

// ---- casbin ----
const casbin = await optional('casbin')
if (casbin) {
  const model = casbin.newModelFromString(`
[request_definition]
r = sub, obj, act, amount
[policy_definition]
p = sub, obj, act
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.sub == p.sub && keyMatch(r.obj, p.obj) && r.act == p.act && r.amount <= 500
`)
  const e = await casbin.newEnforcer(
    model,
    new casbin.StringAdapter(`
p, customer-support-bot, order://customer:42/*, read_order
p, customer-support-bot, order://customer:42/*, process_refund
`),
  )
  if (!e.enforceSync('customer-support-bot', 'order://customer:42/1001', 'process_refund', 80)) {
    throw new Error('bench: casbin should allow')
  }
  rows.push({
    name: 'casbin enforceSync (keyMatch + amount)',
    ns: timeSync(() => e.enforceSync('customer-support-bot', 'order://customer:42/1001', 'process_refund', 80)),
  })
} else skipped.push('casbin')

// ---- Cedar ----
const cedar = await optional('@cedar-policy/cedar-wasm/nodejs')
if (cedar) {
  const parsed = cedar.preparsePolicySet('bench', {
    staticPolicies: `permit(principal == Agent::"customer-support-bot", action == Action::"process_refund", resource in Customer::"42")
      when { context.amount <= 500 };`,
  })
  if (parsed.type !== 'success') throw new Error(`bench: cedar policy: ${JSON.stringify(parsed)}`)
  const call = {
    principal: { type: 'Agent', id: 'customer-support-bot' },
    action: { type: 'Action', id: 'process_refund' },
    resource: { type: 'Order', id: '42/1001' },
    context: { amount: 80, currency: 'USD', reason: 'late' },
    preparsedPolicySetId: 'bench',
    entities: [{ uid: { type: 'Order', id: '42/1001' }, attrs: {}, parents: [{ type: 'Customer', id: '42' }] }],
  }
  const answer = cedar.statefulIsAuthorized(call)
  if (answer.type !== 'success' || answer.response.decision !== 'allow') {
    throw new Error(`bench: cedar should allow: ${JSON.stringify(answer)}`)
  }
  rows.push({
    name: `cedar-wasm ${cedar.getCedarVersion()} statefulIsAuthorized`,
    ns: timeSync(() => cedar.statefulIsAuthorized(call)),
  })
} else skipped.push('@cedar-policy/cedar-wasm')

await act.close()

const ours = rows.find((r) => r.ours).ns
const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)
console.log(`node ${process.version}, ${SAMPLES} samples of ~${SAMPLE_MS} ms each; median per call`)
console.log('')
console.log(`${'what'.padEnd(50)} ${'median'.padStart(12)}   vs act validate`)
for (const r of rows) {
  console.log(`${r.name.padEnd(50)} ${fmt(r.ns).padStart(12)}   ${(r.ns / ours).toFixed(2)}x`)
}
for (const s of skipped) console.log(`skipped ${s}: not installed (npm install in node/)`)
