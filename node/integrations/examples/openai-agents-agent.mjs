import { Agent, run, tool } from '@openai/agents'
import { z } from 'zod'
import { createGuard } from 'act-sdk/openai-agents'

// The run's context carries the user's ACT token and id, set by your login, never by the model.
export function supportAgent({ act, model }) {
  const guard = createGuard(act, { token: (_input, { runContext }) => runContext.context.actToken })
  const processRefund = tool(
    guard.wrap(
      {
        name: 'process_refund',
        description: 'Refund an order',
        parameters: z.object({ order: z.string(), amount: z.number() }),
        execute: async ({ order, amount }) => `refunded ${amount} on order ${order}`,
      },
      { resource: ({ order }, { runContext }) => `order://customer:${runContext.context.userId}/${order}` },
    ),
  )
  const agent = new Agent({
    name: 'support',
    instructions: 'Help customers with orders.',
    tools: [processRefund],
    model,
  })
  return { agent, guard }
}

// One turn; `askHuman(interruption)` shows the call to a person and returns true to approve.
export async function chat({ agent, guard, input, context, askHuman }) {
  let result = await run(agent, input, { context })
  while (result.interruptions.length > 0) {
    for (const interruption of result.interruptions) {
      if (await askHuman(interruption)) {
        await guard.approve(interruption, { approver: 'supervisor@shop.example', ttl: 600 })
        result.state.approve(interruption)
      } else {
        result.state.reject(interruption)
      }
    }
    result = await run(agent, result.state)
  }
  return result.finalOutput
}
