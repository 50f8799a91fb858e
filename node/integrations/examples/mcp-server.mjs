import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ACT, SigningKey } from 'act-sdk'
import { registerTool } from 'act-sdk/mcp'

// One MCP server per authenticated user: `userId` comes from your login, never from the model.
export function createServer({ act, token, userId }) {
  const server = new McpServer({ name: 'shop', version: '1.0.0' })
  registerTool(
    server,
    act,
    'process_refund',
    { description: 'Refund an order', inputSchema: { order: z.string(), amount: z.number() } },
    { token, resource: ({ order }) => `order://customer:${userId}/${order}` },
    async ({ order, amount }) => ({ content: [{ type: 'text', text: `refunded ${amount} on order ${order}` }] }),
  )
  return server
}

// Run directly: an MCP server on stdio for customer 42.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const act = new ACT({ policyFile: 'policies.yaml', signingKey: SigningKey.generate() })
  const token = act.issueToken({ agent: 'customer-support-bot', userContext: { user_id: '42' } })
  await createServer({ act, token, userId: '42' }).connect(new StdioServerTransport())
}
