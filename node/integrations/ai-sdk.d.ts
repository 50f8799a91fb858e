// Types of act-sdk/ai-sdk. Checked by `tsc --noEmit` on test/types.ts.
import type {
  GenericToolApprovalFunction,
  Tool,
  ToolApprovalRequestOutput,
  ToolApprovalResponse,
  ToolSet,
} from 'ai' with { 'resolution-mode': 'import' }
import type { ACT, ApprovalRequest, JsonObject } from '../index'

export interface AiSdkCallInfo {
  toolName: string
  toolCallId: string | undefined
  /** The tool's context (`toolsContext[toolName]` of the call). */
  toolContext: unknown
}

/** A value, or a function of the tool call's validated input. */
export type AiSdkFromInput<I, T> = T | ((input: I, info: AiSdkCallInfo) => T)

type InputOf<T> = T extends Tool<infer I, any, any> ? I : unknown

/** One guarded tool: the AI SDK tool (with `execute`) and how its calls become ACT requests. */
export interface AiSdkGuardedTool<T extends Tool<any, any, any> = Tool<any, any, any>> {
  tool: T
  resource: AiSdkFromInput<InputOf<T>, string>
  /** Default: the tool name. */
  action?: AiSdkFromInput<InputOf<T>, string>
  /** Default: the validated input (when it is an object). */
  context?: AiSdkFromInput<InputOf<T>, JsonObject | null | undefined>
  /** Default: the guard's `token`. */
  token?: AiSdkFromInput<InputOf<T>, string>
}

/** A Map-like store of approval tokens by tool call id (a `Map`, or one shared across processes). */
export interface ApprovalStore {
  get(toolCallId: string): string | undefined | null | Promise<string | undefined | null>
  set(toolCallId: string, approval: string): unknown
  delete(toolCallId: string): unknown
}

export interface GuardToolsOptions<TOOLS extends Record<string, AiSdkGuardedTool>> {
  /** The default ACT token of every tool. */
  token?: AiSdkFromInput<unknown, string>
  tools: TOOLS
  /** Default: a new Map. */
  approvals?: ApprovalStore
}

/** A `tool-approval-request` part of a result's `content`. */
export type ToolApprovalRequestPart = ToolApprovalRequestOutput<ToolSet>

export interface AiSdkGuard<TOOLS extends Record<string, AiSdkGuardedTool>> {
  /** Pass as `tools`: the same tools, each `execute` validated by ACT right before it runs. */
  readonly tools: { [K in keyof TOOLS]: TOOLS[K]['tool'] }
  /** Pass as `toolApproval`: deny (with the reason), ask a human, or run. */
  readonly toolApproval: GenericToolApprovalFunction<any, any, any>
  /**
   * A human approves: signs an ACT approval for exactly that call and returns the
   * `tool-approval-response` to append (`approved: false` with the reason when it is denied by now).
   * In endpoint mode (`{ timeoutMs }`) the endpoint's operators approve and it waits for them.
   */
  approve(
    part: ToolApprovalRequestPart,
    options: { approver: string; ttl: number } | { timeoutMs?: number },
  ): Promise<ToolApprovalResponse>
  /** The ACT approval request behind a part: what the human is asked (null when none is needed now). */
  approvalRequest(part: ToolApprovalRequestPart): ApprovalRequest | null
  readonly approvals: ApprovalStore
}

/** Guards AI SDK tools with `act` (see docs/guards/vercel-ai-sdk.md). */
export declare function guardTools<TOOLS extends Record<string, AiSdkGuardedTool>>(
  act: ACT,
  options: GuardToolsOptions<TOOLS>,
): AiSdkGuard<TOOLS>
