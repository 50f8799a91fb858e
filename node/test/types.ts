// A typed usage of act-sdk, checked by `tsc --noEmit -p test/tsconfig.json`.
// It is never run: it shows that index.d.ts describes the API precisely
// (discriminated decisions, error classes, options) and rejects misuse.

import {
  ACT,
  SigningKey,
  ManualClock,
  guard,
  verifyAuditLog,
  REASONS,
  GENESIS_HASH,
  ActError,
  PolicyError,
  TokenError,
  KeyError,
  ConfigError,
  SnapshotError,
  IoError,
  InternalError,
  AuditChainError,
  DeniedError,
  ApprovalRequiredError,
} from 'act-sdk'
import type {
  Decision,
  AllowDecision,
  DenyDecision,
  ApprovalRequiredDecision,
  ApprovalRequest,
  AuditRecord,
  Reason,
  DenyReason,
  Diagnostic,
  Status,
  TraceStep,
  ACTOptions,
  ShadowOutcome,
  ApprovalCondition,
  AuditCallbacks,
  JsonObject,
  Outcome,
} from 'act-sdk'

const key: SigningKey = SigningKey.generate()
const same: SigningKey = SigningKey.fromSeed(new Uint8Array(32))
SigningKey.fromPem(key.toPem())
SigningKey.fromJwk(key.toJwk())
SigningKey.fromJwk(JSON.stringify(key.toJwk()))
const kid: string = key.kid
const pub: string = key.publicKey
const x: string = key.publicJwk().x
// @ts-expect-error the constructor is private: use a factory
new SigningKey()

const clock = new ManualClock(Date.now())
clock.advance(1000)
clock.set(clock.now())

const records: AuditRecord[] = []
const options: ACTOptions = {
  policyFile: 'policies.yaml',
  signingKey: key,
  trust: [same, pub, same.publicJwk()],
  audience: 'orders-api',
  leeway: 30,
  audit: ['audit.jsonl', (r) => records.push(r), { file: 'b.jsonl', callback: (r) => console.log(r.hash, r.prevHash) }],
  clock,
}
const act = new ACT(options)
new ACT({ policy: 'agent: a', policyName: 'inline.yaml' })
// @ts-expect-error unknown option
new ACT({ polcyFile: 'x' })
// @ts-expect-error a signing key is a SigningKey, not text
new ACT({ policyFile: 'x', signingKey: 'secret' })

const token: string = act.issueToken({
  agent: 'customer-support-bot',
  userContext: { user_id: '42', roles: ['customer'] },
  agentContext: { assigned_region: 'emea' },
  policy: { actions: ['read_order'], resources: ['order://customer:42/*'] },
  ttl: 3600,
  holderKey: key,
})
// @ts-expect-error userContext is required
act.issueToken({ agent: 'a' })

const d: Decision = act.validate({
  token,
  action: 'process_refund',
  resource: 'order://customer:42/1001',
  context: { amount: 120, items: [1, 2], note: null },
})
// @ts-expect-error context values are JSON
act.validate({ token, action: 'a', resource: 'r', context: { when: new Date() } })
// @ts-expect-error action is required
act.check({ token, resource: 'r' })

function handle(d: Decision): string {
  switch (d.outcome) {
    case 'allow': {
      const rule: string = d.rule
      const r: 'allowed' | 'approved' = d.reason
      const none: null = d.approvalRequest
      return `${rule} ${r} ${none}`
    }
    case 'approval_required': {
      const req: ApprovalRequest = d.approvalRequest
      const seen: JsonObject = req.context
      const hash: string = req.contextHash
      const fired: ApprovalCondition[] = req.conditions
      const agents: string[] = req.chain
      void [seen, hash, fired.map((c) => c.constraint + c.condition), agents]
      const approval: string = act.approve(d, { approver: 'sup@example.com', ttl: 600 })
      act.approve(req, { approver: 'sup@example.com', ttl: 600 })
      act.approve(req.id, { approver: 'sup@example.com', ttl: 600 })
      const again = act.validate({ token, action: req.action, resource: req.resource, approval })
      return `${req.condition} ${again.reason}`
    }
    case 'deny': {
      const reason: DenyReason = d.reason
      // @ts-expect-error a deny has no approval request
      d.approvalRequest.id
      return `${reason} ${d.constraint ?? ''} ${d.message}`
    }
  }
}
handle(d)
if (d.allowed) {
  const _allowed: AllowDecision = d
}
const reason: Reason = d.reason
const shadow: ShadowOutcome | null = d.shadow
if (shadow !== null) {
  const so: Outcome = shadow.outcome
  const sr: Reason = shadow.reason
  const sm: string = shadow.message
  const srule: string | null = shadow.rule
  void [so, sr, sm, srule]
}
const plain: object = d.toJSON()
// @ts-expect-error not a reason code
const wrong: Reason = 'nope'

const explained = act.explain({ token, action: 'a', resource: 'r' })
const steps: TraceStep[] = explained.trace

const child: string = act.delegate(token, {
  holderKey: key,
  agent: 'sub-agent',
  policy: { actions: ['read_order'] },
  ttl: 600,
  nextHolderKey: same.publicKey,
})
// @ts-expect-error the holder must be a private key
act.delegate(token, { holderKey: key.publicKey, agent: 'x', ttl: 1 })
const sealed: string = act.seal(child, { holderKey: same, ttl: 60 })
// @ts-expect-error the holder must be a private key
act.seal(child, { holderKey: same.publicKey, ttl: 60 })
const callbacks: AuditCallbacks = act.auditCallbacks
const withCheckpoints = new ACT({ policyFile: 'p.yaml', audit: 'audit.jsonl', auditKey: key })
verifyAuditLog('', { checkpoints: '', auditKey: key.publicKey })
void [sealed, callbacks.delivered + callbacks.errors, withCheckpoints, plain]

async function lifecycle(): Promise<number> {
  const version: number = await act.reload()
  await act.flushAudit()
  const s: Status = act.status
  const n: number = verifyAuditLog('', { start: GENESIS_HASH })
  await act.close()
  return version + n + (s.auditWritten ?? 0) + REASONS.length
}
lifecycle()

const refund = guard(
  act,
  {
    token,
    action: 'process_refund',
    resource: (args: { order: string; amount: number }) => `order://customer:42/${args.order}`,
    context: (args) => ({ amount: args.amount }),
  },
  async (args: { order: string; amount: number }) => ({ refunded: args.amount }),
)
async function useGuard(): Promise<void> {
  try {
    const r: { refunded: number } = await refund({ order: '1', amount: 5 })
    console.log(r.refunded)
  } catch (e) {
    if (e instanceof ApprovalRequiredError) {
      const req: ApprovalRequest = e.approvalRequest
      const dec: ApprovalRequiredDecision = e.decision
      console.log(req.id, dec.rule)
    } else if (DeniedError.isInstance(e)) {
      const dec: DenyDecision = e.decision
      const code: DenyReason = e.code
      console.log(dec.message, code)
    } else if (PolicyError.isInstance(e)) {
      const diags: Diagnostic[] = e.diagnostics
      console.log(diags[0]?.line)
    } else if (ActError.isActError(e)) {
      const code: string = e.code
      console.log(code)
    }
  }
}
useGuard()
const tool2 = act.guard({ token: () => token, action: 'read_order', resource: 'order://customer:42/1' }, async () => 1)
tool2().then((n: number) => n)

function codes(e: unknown): string | undefined {
  if (TokenError.isInstance(e)) return e.reason ?? e.code
  if (KeyError.isInstance(e)) return e.code
  if (ConfigError.isInstance(e)) return e.code
  if (SnapshotError.isInstance(e)) return e.code
  if (IoError.isInstance(e)) return e.path ?? e.code
  if (InternalError.isInstance(e)) return e.code
  if (AuditChainError.isInstance(e)) return `${e.line}`
  return undefined
}
codes(new ConfigError('bad', 'invalid_argument'))
void kid
void x
void reason
void wrong
void steps
void child
