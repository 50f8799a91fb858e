"""Guards for agent frameworks. Each module imports its framework when it is imported,
never before, so ``import act_sdk`` needs none of them:

- ``act_sdk.integrations.mcp``: MCP servers (``mcp`` 2.x ``MCPServer`` tools).
- ``act_sdk.integrations.openai_agents``: OpenAI Agents SDK (tool input guardrail + ``needs_approval``).
- ``act_sdk.integrations.langchain``: LangChain 1.x agents (``AgentMiddleware.wrap_tool_call``).

Every guard does the same three things, through its framework's own hooks: an allow runs
the tool; a deny gives the model the reason code and message instead of the tool's result;
``approval_required`` goes to the framework's human-approval path and, once a human approves
(an ACT approval signed by the issuer), runs the tool. The decision itself is always
``ACT.validate``: no policy logic lives here. An exception from ACT (a closed engine, a
resource template naming a missing argument) never runs the tool: it propagates through the
framework's error path.
"""

from ._common import ToolRule, refusal

__all__ = ["ToolRule", "refusal"]
