// Types of act-sdk/openai-agents. Checked by `tsc --noEmit` on test/types.ts.
import type { RunContext, RunToolApprovalItem } from '@openai/agents'
import type { ACT, JsonObject } from '../index'

export interface AgentsCallInfo {
  toolName: string
  callId: string | undefined
  /** The run's context (`runContext.context` is what you passed as `run(..., { context })`). */
  runContext: RunContext<any>
}

/** A value, or a function of the tool call's validated input. */
export type AgentsFromInput<I, T> = T | ((input: I, info: AgentsCallInfo) => T)

export interface AgentsGuardSpec<I = any> {
  resource: AgentsFromInput<I, string>
  /** Default: the tool name. */
  action?: AgentsFromInput<I, string>
  /** Default: the validated input (when it is an object). */
  context?: AgentsFromInput<I, JsonObject | null | undefined>
  /** Default: the guard's `token`. */
  token?: AgentsFromInput<I, string>
}

/** A Map-like store of approval tokens by call id (a `Map`, or one shared across processes). */
export interface ApprovalStore {
  get(callId: string): string | undefined | null | Promise<string | undefined | null>
  set(callId: string, approval: string): unknown
  delete(callId: string): unknown
}

export interface CreateGuardOptions {
  /** The default ACT token, e.g. `(input, { runContext }) => runContext.context.actToken`. */
  token?: AgentsFromInput<any, string>
  approvals?: ApprovalStore
}

/** The options of the SDK's `tool()` this guard needs to see. */
interface WrappableToolOptions {
  name: string
  execute: (input: any, context?: RunContext<any>, details?: any) => unknown
  needsApproval?: never
}

export interface AgentsGuard {
  /** The options for `tool()`, with `needsApproval` and `execute` guarded by ACT. */
  wrap<O extends WrappableToolOptions>(
    toolOptions: O,
    spec: AgentsGuardSpec<Parameters<O['execute']>[0]>,
  ): Omit<O, 'needsApproval'> & {
    needsApproval: (runContext: RunContext<any>, input: any, callId?: string) => Promise<boolean>
  }
  /**
   * A human approves one interruption: the ACT approval token for exactly that
   * call (null when none is needed by now; throws `DeniedError` when it is
   * denied by now). Also call `result.state.approve(interruption)`. In endpoint mode the
   * endpoint's operators approve: pass `{ timeoutMs }` (default 300000) and it waits for them
   * (a denial rejects with `ApprovalDeniedError`).
   */
  approve(
    interruption: RunToolApprovalItem,
    options: { approver: string; ttl: number; context?: unknown } | { timeoutMs?: number; context?: unknown },
  ): Promise<string | null>
  readonly approvals: ApprovalStore
}

/** A guard for OpenAI Agents SDK tools (see docs/guards/openai-agents-js.md). */
export declare function createGuard(act: ACT, options?: CreateGuardOptions): AgentsGuard
