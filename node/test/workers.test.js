'use strict'
// worker_threads: several workers load the addon and one policy file at
// once, validate concurrently with the main thread, and agree on every decision.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { ACT, SigningKey } = require('..')

const POLICY = `
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      requireSecondApproval: amount > 100
`

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const { ACT, SigningKey } = require(workerData.sdk)
const act = new ACT({ policyFile: workerData.policyFile, signingKey: SigningKey.fromSeed(Buffer.from(workerData.seed, 'base64url')) })
const counts = {}
const reloads = []
;(async () => {
  for (let i = 0; i < workerData.rounds; i++) {
    for (const c of workerData.cases) {
      const d = act.validate(c.request)
      if (d.reason !== c.reason) throw new Error('worker ' + workerData.id + ': ' + JSON.stringify(c.request) + ' gave ' + d.reason)
      counts[d.reason] = (counts[d.reason] || 0) + 1
    }
    // One worker reloads the file while the others validate: swaps never pause or mix versions.
    if (workerData.id === 0 && i % 50 === 0) reloads.push(await act.reload())
  }
  // A token issued in this worker validates in the main thread (same key, same file).
  const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '9' } })
  await act.close()
  parentPort.postMessage({ counts, reloads, token })
})().catch((e) => { throw e })
`

test('workers share one policy file and agree with the main thread', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-workers-'))
  const policyFile = path.join(dir, 'policies.yaml')
  fs.writeFileSync(policyFile, POLICY)
  const seed = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  const act = new ACT({ policyFile, signingKey: SigningKey.fromSeed(Buffer.from(seed, 'base64url')) })
  try {
    const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
    const r = (action, resource, context) => ({ token, action, resource, context })
    const flip = (t, i) => t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1)
    const cases = [
      { request: r('read_order', 'order://customer:42/1'), reason: 'allowed' },
      { request: r('process_refund', 'order://customer:42/1', { amount: 20 }), reason: 'allowed' },
      { request: r('process_refund', 'order://customer:42/1', { amount: 120 }), reason: 'approval_required' },
      { request: r('process_refund', 'order://customer:42/1', { amount: 900 }), reason: 'constraint_failed' },
      { request: r('read_order', 'order://customer:43/1'), reason: 'resource_not_allowed' },
      { request: r('delete_order', 'order://customer:42/1'), reason: 'action_not_allowed' },
      {
        request: { ...r('read_order', 'order://customer:42/1'), token: flip(token, token.length - 10) },
        reason: 'token_signature_invalid',
      },
    ]
    const rounds = 300
    const workers = Array.from({ length: 4 }, (_, id) => {
      const w = new Worker(WORKER, {
        eval: true,
        workerData: { id, sdk: path.join(__dirname, '..'), policyFile, seed, cases, rounds },
      })
      return new Promise((resolve, reject) => {
        let result
        w.on('message', (m) => (result = m))
        w.on('error', reject)
        w.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`worker ${id} exited with ${code}`))))
      })
    })
    // The main thread validates at the same time.
    for (let i = 0; i < rounds; i++) {
      for (const c of cases) assert.equal(act.validate(c.request).reason, c.reason)
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const results = await Promise.all(workers)
    for (const res of results) {
      assert.equal(res.counts.allowed, 2 * rounds)
      assert.equal(res.counts.approval_required, rounds)
      assert.equal(
        act.validate({ ...cases[0].request, token: res.token, resource: 'order://customer:9/1' }).reason,
        'allowed',
      )
    }
    assert.deepEqual(results[0].reloads, [2, 3, 4, 5, 6, 7])
  } finally {
    await act.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
