'use strict'
// Runs every conformance vector in tests/vectors/ through act-sdk, with the
// same semantics as the Rust runner (core/tests/vectors.rs); the format is in
// tests/vectors/README.md.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
// ACT_SDK_PACKAGE: run against an installed act-sdk (node/run_tests.sh installs the packed
// tarballs into a fresh folder) instead of this source folder; ACT_VECTORS_DIR: the vectors' folder.
const { ACT, SigningKey, ManualClock, GENESIS_HASH, verifyAuditLog } = require(process.env.ACT_SDK_PACKAGE || '..')

const DIR = process.env.ACT_VECTORS_DIR || path.join(__dirname, '..', '..', 'tests', 'vectors')
const index = JSON.parse(fs.readFileSync(path.join(DIR, 'index.json'), 'utf8'))
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'act-vectors-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

const b64url = (s) => Buffer.from(s, 'utf8').toString('base64url')

function build(suite, auditFile, records) {
  const keys = {}
  for (const [name, seed] of Object.entries(suite.keys ?? {}))
    keys[name] = SigningKey.fromSeed(Buffer.from(seed, 'base64url'))
  const clock = new ManualClock(suite.now_ms ?? 1_800_000_000_000)
  const opts = {
    policy: suite.policy ?? '',
    policyName: 'policy.yaml',
    clock,
    audit: [auditFile, (r) => records.push(r)],
  }
  if (suite.signing_key) opts.signingKey = keys[suite.signing_key]
  if (suite.trusted) opts.trust = suite.trusted.map((t) => keys[t])
  if (suite.audience) opts.audience = suite.audience
  return { act: new ACT(opts), clock, keys }
}

function makeTokens(s, suite, label) {
  const tokens = {}
  for (const [name, spec] of Object.entries(suite.tokens ?? {})) {
    let token
    if (spec.raw !== undefined) {
      token = spec.raw
    } else if (spec.tamper) {
      // Re-encode the claims with a patch, keeping header and signature.
      const [h, c, sig] = tokens[spec.tamper.token].split('.')
      const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'))
      Object.assign(claims, spec.tamper.claims_patch ?? {})
      token = `${h}.${b64url(JSON.stringify(claims))}.${sig}`
    } else if (spec.issue) {
      const i = spec.issue
      const req = {
        agent: i.agent,
        userContext: i.user_context ?? {},
        agentContext: i.agent_context,
        policy: i.policy,
        ttl: i.ttl ?? 3600,
        holderKey: i.holder ? s.keys[i.holder] : undefined,
      }
      if (i.signed_by) {
        // Another issuer with the same policies but its own key (not trusted by the suite's engine).
        const other = new ACT({ policy: suite.policy, policyName: 'policy.yaml', signingKey: s.keys[i.signed_by] })
        token = other.issueToken(req)
        other.close()
      } else {
        token = s.act.issueToken(req)
      }
    } else if (spec.delegate) {
      const d = spec.delegate
      token = s.act.delegate(tokens[d.parent], {
        holderKey: s.keys[d.holder],
        agent: d.agent,
        agentContext: d.agent_context,
        policy: d.policy,
        ttl: d.ttl ?? 600,
        nextHolderKey: d.next_holder ? s.keys[d.next_holder] : undefined,
      })
    } else {
      assert.fail(`${label}: token \`${name}\` needs raw, issue, tamper or delegate`)
    }
    tokens[name] = token
  }
  return tokens
}

function runStep(s, tokens, approvals, step, at) {
  if (step.advance_ms !== undefined) s.clock.advance(step.advance_ms)
  let token = step.token_raw ?? ''
  if (step.token !== undefined) {
    assert.ok(step.token in tokens, `${at}: unknown token ${step.token}`)
    token = tokens[step.token]
  }
  const request = {
    token,
    action: step.action,
    resource: step.resource,
    context: step.context ?? {},
    approval: step.approval !== undefined ? approvals[step.approval] : undefined,
  }
  const repeat = step.repeat ?? 1
  for (let n = 0; n < repeat; n++) {
    const d = step.mode === 'check' ? s.act.check(request) : s.act.validate(request)
    const where = repeat > 1 ? `${at} #${n}` : at
    const e = step.expect
    assert.equal(d.outcome, e.outcome, `${where}: ${JSON.stringify(d)}`)
    assert.equal(d.reason, e.reason, `${where}: ${JSON.stringify(d)}`)
    assert.equal(d.allowed, d.outcome === 'allow', where)
    if ('rule' in e) assert.equal(d.rule, e.rule, `${where}: rule`)
    if ('constraint' in e) assert.equal(d.constraint, e.constraint, `${where}: constraint`)
    if (e.message_contains !== undefined) {
      assert.ok(
        d.message.includes(e.message_contains),
        `${where}: message \`${d.message}\` lacks \`${e.message_contains}\``,
      )
    }
    assert.equal(d.approvalRequest !== null, d.outcome === 'approval_required', where)
    if (e.approval_request !== undefined) checkApprovalRequest(where, d.approvalRequest, e.approval_request)
    if (e.shadow !== undefined) checkShadow(where, d.shadow, e.shadow)
    if (step.approve_as !== undefined) {
      assert.ok(d.approvalRequest, `${where}: nothing to approve`)
      approvals[step.approve_as] = s.act.approve(d.approvalRequest.id, { approver: 'vector-approver', ttl: 600 })
    }
  }
}

// `expect.approval_request` (tests/vectors/README.md): the values the approver sees, with the
// redacted fields (digests of the random token id) checked by shape, not value.
function checkApprovalRequest(where, got, want) {
  assert.ok(got, `${where}: no approval request`)
  const redacted = want.context_redacted ?? []
  if (want.context !== undefined) {
    const pinned = structuredClone(got.context)
    for (const path of redacted) {
      const keys = path.split('.')
      const parent = keys.slice(0, -1).reduce((v, k) => v?.[k], pinned)
      if (parent) delete parent[keys.at(-1)]
    }
    assert.deepStrictEqual(pinned, want.context, `${where}: approval request context`)
  }
  for (const path of redacted) {
    const v = path.split('.').reduce((o, k) => o?.[k], got.context)
    assert.ok(typeof v === 'string' && v.startsWith('[redacted:'), `${where}: ${path} shown as ${v}`)
  }
  if (want.context_hash !== undefined) assert.equal(got.contextHash, want.context_hash, `${where}: contextHash`)
  if (want.conditions !== undefined) {
    const conditions = got.conditions.map((c) => ({ constraint: c.constraint, condition: c.condition }))
    assert.deepStrictEqual(conditions, want.conditions, `${where}: conditions`)
  }
  if (want.chain !== undefined) assert.deepStrictEqual(got.chain, want.chain, `${where}: chain`)
}

// `expect.shadow`: null (no shadow evaluated) or the shadow's outcome, reason and rule.
function checkShadow(where, got, want) {
  if (want === null) {
    assert.equal(got, null, `${where}: shadow`)
    return
  }
  assert.ok(got, `${where}: no shadow outcome`)
  assert.equal(got.outcome, want.outcome, `${where}: shadow outcome`)
  assert.equal(got.reason, want.reason, `${where}: shadow reason`)
  if (want.rule !== undefined) assert.equal(got.rule, want.rule, `${where}: shadow rule`)
}

let suites = 0
for (const file of index.suites) {
  const doc = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'))
  for (const [i, suite] of doc.suites.entries()) {
    suites++
    const label = `${file}: ${suite.name ?? '?'}`
    test(label, async () => {
      const auditFile = path.join(tmp, `${file}-${i}.jsonl`)
      const records = []
      if (suite.policy_error) {
        let err
        try {
          build(suite, auditFile, records)
        } catch (e) {
          err = e
        }
        assert.ok(err, `${label}: the policy should not compile`)
        assert.equal(err.code, 'policy_invalid', `${label}: ${err}`)
        assert.ok(err.diagnostics.length > 0, label)
        for (const needle of suite.policy_error.contains) {
          assert.ok(err.message.includes(needle), `${label}: error \`${err.message}\` lacks ${JSON.stringify(needle)}`)
        }
        return
      }
      const s = build(suite, auditFile, records)
      try {
        const tokens = makeTokens(s, suite, label)
        const approvals = {}
        for (const [n, step] of (suite.steps ?? []).entries()) {
          runStep(s, tokens, approvals, step, `${label} step ${n} (${step.name ?? ''})`)
        }
      } finally {
        await s.act.close()
      }
      // Every enforced decision left a record, the chain verifies, and the callback saw the same records.
      const text = fs.readFileSync(auditFile, 'utf8')
      const count = verifyAuditLog(text, { start: GENESIS_HASH })
      assert.equal(records.length, count, `${label}: callback and file disagree`)
      const lines = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
      assert.deepEqual(
        records.map((r) => r.hash),
        lines.map((l) => l.hash),
        label,
      )
    })
  }
}

test('every vector suite ran', () => {
  assert.ok(suites >= 10, `only ${suites} suites`)
})
