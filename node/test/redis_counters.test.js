'use strict'
// Two clients (as two processes would) share one limit through a real redis-server.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { ACT, SigningKey } = require('..')

const POLICY = path.join(__dirname, '..', '..', 'examples', 'customer_support', 'policies.yaml')

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

test('two clients share one daily limit through redis', async (t) => {
  const bin = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
  assert.ok(fs.existsSync(bin), 'redis-server is installed (scripts/test-all.sh installs it)')
  const port = await freePort()
  const server = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  t.after(() => server.kill('SIGTERM')) // this child, by pid
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end()
        resolve(true)
      })
      c.on('error', () => resolve(false))
    })
    if (ok) break
    assert.ok(i < 500, 'redis-server did not start')
    await new Promise((r) => setTimeout(r, 20))
  }
  const signingKey = SigningKey.generate()
  const counters = `redis://127.0.0.1:${port}/`
  const a = new ACT({ policyFile: POLICY, signingKey, counters })
  const b = new ACT({ policyFile: POLICY, signingKey, counters })
  const token = a.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  const reasons = []
  for (let i = 0; i < 8; i++) {
    reasons.push(
      (i % 2 ? a : b).validate({
        token,
        action: 'process_refund',
        resource: 'order://customer:42/1',
        context: { amount: 20 },
      }).reason,
    )
  }
  assert.deepEqual(reasons, [...Array(5).fill('allowed'), ...Array(3).fill('rate_limited')])
  await a.close()
  await b.close()
  assert.throws(() => new ACT({ policyFile: POLICY, counters: 'mongodb://x' }), { code: 'invalid_argument' })
})
