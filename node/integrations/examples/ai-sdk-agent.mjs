import { generateText, isStepCount, tool } from 'ai'
import { z } from 'zod'
import { guardTools } from 'act-sdk/ai-sdk'

// The tools of one user's session: `userId` and `token` come from your login, never from the model.
export function sessionTools({ act, token, userId }) {
  return guardTools(act, {
    token,
    tools: {
      process_refund: {
        tool: tool({
          description: 'Refund an order',
          inputSchema: z.object({ order: z.string(), amount: z.number() }),
          execute: async ({ order, amount }) => `refunded ${amount} on order ${order}`,
        }),
        resource: ({ order }) => `order://customer:${userId}/${order}`,
      },
    },
  })
}

// One turn; `askHuman(part)` shows `part.reason` to a person and returns true to approve.
export async function chat({ model, guard, messages, askHuman }) {
  const settings = { model, tools: guard.tools, toolApproval: guard.toolApproval, stopWhen: isStepCount(5) }
  let result = await generateText({ ...settings, messages })
  messages.push(...result.responseMessages)
  const requests = result.content.filter((p) => p.type === 'tool-approval-request' && !p.isAutomatic)
  if (requests.length > 0) {
    const answers = []
    for (const part of requests) {
      answers.push(
        (await askHuman(part))
          ? await guard.approve(part, { approver: 'supervisor@shop.example', ttl: 600 })
          : { type: 'tool-approval-response', approvalId: part.approvalId, approved: false },
      )
    }
    messages.push({ role: 'tool', content: answers })
    result = await generateText({ ...settings, messages })
    messages.push(...result.responseMessages)
  }
  return result.text
}
