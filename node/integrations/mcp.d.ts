// Types of act-sdk/mcp. Checked by `tsc --noEmit` on test/types.ts.
import type { ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js'
import type {
  AnySchema,
  SchemaOutput,
  ShapeOutput,
  ZodRawShapeCompat,
} from '@modelcontextprotocol/sdk/server/zod-compat.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js'
import type { ACT, ApprovalRequest, ApprovalRequiredDecision, JsonObject } from '../index'

/**
 * An `McpServer`, described by what the guard uses, so that the ESM and the
 * CommonJS builds of the SDK (two declarations of the class) both fit.
 */
export interface McpServerLike {
  registerTool(name: string, config: any, cb: any): any
  readonly server: object
}

/** The SDK's `extra` of one tool call (request id, signal, authInfo, ...). */
export type McpExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** The validated input a tool's callback gets for its `inputSchema` (`undefined` without one). */
export type McpToolInput<Args> = Args extends ZodRawShapeCompat
  ? ShapeOutput<Args>
  : Args extends AnySchema
    ? SchemaOutput<Args>
    : undefined

export interface McpCallInfo {
  toolName: string
  extra: McpExtra
}

/** A value, or a function of the tool call's validated input. */
export type McpFromInput<I, T> = T | ((input: I, info: McpCallInfo) => T)

export interface McpApprovalArgs<I> {
  decision: ApprovalRequiredDecision
  approvalRequest: ApprovalRequest
  input: I
  extra: McpExtra
}

export interface McpGuardSpec<I> {
  /** The ACT token the agent acts with. */
  token: McpFromInput<I, string>
  /** The resource of this call, e.g. `({ order }) => \`order://customer:42/${order}\``. */
  resource: McpFromInput<I, string>
  /** Default: the tool name. */
  action?: McpFromInput<I, string>
  /** Facts for conditions. Default: the validated input (when it is an object). */
  context?: McpFromInput<I, JsonObject | null | undefined>
  /**
   * Who approves an `approval_required` call: `'elicit'` (default embedded) asks the
   * client's user through MCP elicitation and signs the approval with `act`;
   * `'endpoint'` (default when `act` runs against a control endpoint) asks the
   * endpoint's operators (`requestApproval`) and waits for their answer;
   * `'deny'` refuses; a function routes the request elsewhere and returns an
   * approval token signed by a trusted issuer, or null.
   */
  approval?:
    | 'elicit'
    | 'endpoint'
    | 'deny'
    | ((args: McpApprovalArgs<I>) => Promise<string | null | undefined> | string | null | undefined)
  /** Recorded as the approver of elicited approvals (default `'mcp-client-user'`). */
  approver?: string | ((extra: McpExtra) => string)
  /** Lifetime of elicited approvals, seconds (default 300). */
  approvalTtl?: number
  /** How long `'endpoint'` waits for the operators' answer, ms (default 300000). */
  approvalTimeoutMs?: number
}

/**
 * `server.registerTool(name, config, handler)` with every call validated by
 * `act` first: a deny returns an `isError` result naming the reason code,
 * approval_required asks a human, an error fails closed.
 */
export declare function registerTool<
  S extends McpServerLike,
  OutputArgs extends ZodRawShapeCompat | AnySchema,
  InputArgs extends undefined | ZodRawShapeCompat | AnySchema = undefined,
>(
  server: S,
  act: ACT,
  name: string,
  config: {
    title?: string
    description?: string
    inputSchema?: InputArgs
    outputSchema?: OutputArgs
    annotations?: ToolAnnotations
    _meta?: Record<string, unknown>
  },
  spec: McpGuardSpec<McpToolInput<InputArgs>>,
  handler: ToolCallback<InputArgs>,
): ReturnType<S['registerTool']>
