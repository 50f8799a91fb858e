// Typed usage of act-sdk/mcp, act-sdk/ai-sdk and act-sdk/openai-agents with
// the real framework types, checked by `tsc --noEmit -p test/tsconfig.json`
// (never run). The @ts-expect-error lines must stay errors.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { tool as aiTool, generateText, type LanguageModel, type ModelMessage } from 'ai'
import { Agent, tool as agentsTool, run } from '@openai/agents'
import { z } from 'zod'
import { ACT, SigningKey, type ApprovalRequest } from 'act-sdk'
import { registerTool } from 'act-sdk/mcp'
import { guardTools } from 'act-sdk/ai-sdk'
import { createGuard } from 'act-sdk/openai-agents'

declare const act: ACT
declare const token: string
declare const model: LanguageModel
new ACT({ policyFile: 'policies.yaml', signingKey: SigningKey.generate() })

// ---- MCP ----
const server = new McpServer({ name: 'shop', version: '1.0.0' })
registerTool(
  server,
  act,
  'process_refund',
  { description: 'Refund', inputSchema: { order: z.string(), amount: z.number() } },
  {
    token,
    resource: ({ order }) => `order://customer:42/${order}`,
    context: (input, { extra }) => ({ amount: input.amount, request: String(extra.requestId) }),
    approval: async ({ approvalRequest }) => (approvalRequest.condition === 'amount > 100' ? null : 'approval-token'),
  },
  async ({ order, amount }) => ({ content: [{ type: 'text', text: `${order} ${amount.toFixed(2)}` }] }),
)
registerTool(
  server,
  act,
  'ping',
  {},
  { token, resource: 'r', approval: 'deny', approver: (extra) => String(extra.sessionId) },
  async (extra) => ({
    content: [{ type: 'text', text: String(extra.requestId) }],
  }),
)
registerTool(
  server,
  act,
  't',
  { inputSchema: { order: z.string() } },
  // @ts-expect-error: `order` is a string, it has no toFixed
  { token, resource: ({ order }) => order.toFixed(1) },
  async () => ({ content: [] }),
)
// @ts-expect-error: `resource` is required
registerTool(server, act, 't', {}, { token }, async () => ({ content: [] }))
// @ts-expect-error: `approval` is 'elicit', 'deny' or a function
registerTool(server, act, 't', {}, { token, resource: 'r', approval: 'ask' }, async () => ({ content: [] }))

// ---- Vercel AI SDK ----
const guarded = guardTools(act, {
  token,
  tools: {
    process_refund: {
      tool: aiTool({
        inputSchema: z.object({ order: z.string(), amount: z.number() }),
        execute: async ({ order, amount }) => `refunded ${amount} on ${order}`,
      }),
      resource: ({ order }) => `order://customer:42/${order}`,
      context: ({ amount }, { toolCallId }) => ({ amount, call: toolCallId ?? null }),
    },
  },
})
async function aiTurn(messages: ModelMessage[]): Promise<void> {
  const result = await generateText({ model, tools: guarded.tools, toolApproval: guarded.toolApproval, messages })
  for (const part of result.content) {
    if (part.type === 'tool-approval-request') {
      const req: ApprovalRequest | null = guarded.approvalRequest(part)
      const answer = await guarded.approve(part, { approver: 'alice', ttl: 600 })
      const approved: boolean = answer.approved
      messages.push({ role: 'tool', content: [answer] })
      void req
      void approved
    }
  }
}
void aiTurn
// @ts-expect-error: approve needs { approver, ttl }
guarded.approve({} as never, { approver: 'alice' })

// ---- OpenAI Agents SDK ----
const agentsGuard = createGuard(act, {
  token: (_input, { runContext }) => (runContext.context as { actToken: string }).actToken,
})
const refund = agentsTool(
  agentsGuard.wrap(
    {
      name: 'process_refund',
      description: 'Refund an order',
      parameters: z.object({ order: z.string(), amount: z.number() }),
      execute: async ({ order, amount }: { order: string; amount: number }) => `refunded ${amount} on ${order}`,
    },
    { resource: ({ order }) => `order://customer:42/${order}` },
  ),
)
async function agentsTurn(): Promise<void> {
  const agent = new Agent({ name: 'support', tools: [refund] })
  const result = await run(agent, 'refund', { context: { actToken: token } })
  for (const interruption of result.interruptions) {
    const approval: string | null = await agentsGuard.approve(interruption, { approver: 'bob', ttl: 60 })
    void approval
    result.state.approve(interruption)
  }
}
void agentsTurn
// @ts-expect-error: the policy decides approvals; needsApproval is not accepted
agentsGuard.wrap({ name: 'x', execute: async () => 1, needsApproval: true }, { resource: 'r' })
