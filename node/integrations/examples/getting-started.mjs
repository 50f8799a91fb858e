import { ACT, SigningKey, guard, DeniedError, ApprovalRequiredError } from 'act-sdk'

const act = new ACT({ policyFile: 'policies.yaml', signingKey: SigningKey.generate(), audit: 'audit.jsonl' })

// Your app logged customer 42 in; the agent gets a token that acts for them only.
const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' }, ttl: 3600 })

// Wrap each tool: the resource and context come from the call's arguments, checked by your code.
const processRefund = guard(
  act,
  {
    token,
    action: 'process_refund',
    resource: ({ order }) => `order://customer:42/${order}`,
    context: ({ amount }) => ({ amount }),
    approval: ({ approval }) => approval,
  },
  async ({ order, amount }) => `refunded ${amount} on order ${order}`,
)

for (const call of [
  { order: '1001', amount: 40 }, // allowed
  { order: '1002', amount: 900 }, // over maxAmount: denied
  { order: '1003', amount: 120 }, // over 100: a human must approve
]) {
  try {
    console.log(await processRefund(call))
  } catch (e) {
    if (e instanceof ApprovalRequiredError) {
      console.log(`approval_required: ${e.approvalRequest.condition}`)
      // A supervisor says yes: an approval for exactly this call, usable once.
      const approval = act.approve(e.decision, { approver: 'supervisor@shop.example', ttl: 600 })
      console.log(await processRefund({ ...call, approval }))
    } else if (e instanceof DeniedError) {
      console.log(`denied: ${e.code}: ${e.message}`)
    } else {
      throw e
    }
  }
}

await act.close() // flushes audit.jsonl
