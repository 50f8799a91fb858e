"""What every example agent shares: tools gated by ACT, one printed line per decision, and
a check of each decision against the outcome the script expects.

An example's ``agent.py`` plays a scripted agent: a fixed list of tool calls a model could
propose (no model, no network). Each call goes through ``Session.call``, which is the host
application's tool wrapper: it builds the resource and the context from the call's validated
arguments and the backend's own facts (never from the model's text), asks ``act.validate``,
prints the decision, and runs the tool only if it is allowed.

Every call names the decision reason it expects next to it. ``Script.finish`` exits with
status 1 when any decision differed, so each example is also a test (``examples/run_all.sh``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Type

from act_sdk import ACT, Decision, verify_audit_log

# The outcome each decision reason belongs to (docs/reasons.md); every other reason denies.
_OUTCOME_OF = {"allowed": "allow", "approved": "allow", "approval_required": "approval_required"}
_MARK = {"allow": "ALLOW", "deny": "DENY", "approval_required": "APPROVAL"}


def policy_path(example_file: str) -> str:
    """The policy file to load: the first command-line argument, or policies.yaml beside the example."""
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.path.join(os.path.dirname(os.path.abspath(example_file)), "policies.yaml")


def audit_path(name: str) -> str:
    """A fresh JSON Lines audit file for this run (in the temp directory)."""
    path = os.path.join(tempfile.gettempdir(), f"act-example-{name}-{os.getpid()}.jsonl")
    # The log's signed checkpoints go with it: a log without the records they cover is refused.
    for stale in (path, path + ".checkpoints"):
        if os.path.exists(stale):
            os.remove(stale)
    return path


class Script:
    """Prints the conversation and every decision; counts decisions that differ from the script."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.decisions = 0
        self.validated = 0  # decisions from act.validate, each of which writes one audit record
        self.unexpected: List[str] = []
        print(f"== {title}")

    def say(self, text: str) -> None:
        """What the (scripted) model says before its next tool call."""
        print(f"\nagent: {text}")

    def note(self, text: str) -> None:
        """What happens around the agent between two calls, such as a human approving."""
        print(f"  -- {text}")

    def scene(self, text: str) -> None:
        """A change of scene: time passes, a new session starts."""
        print(f"\n-- {text}")

    def check(
        self, d: Decision, action: str, resource: str, expect: str, constraint: Optional[str] = None, show: bool = True
    ) -> None:
        """Prints one decision line (unless `show` is false) and compares it with the expected
        reason (and the key of the deciding constraint, when given)."""
        self.decisions += 1
        self.validated += 1
        if show:
            print(f"  {_MARK.get(d.outcome, d.outcome):<8} {action:<15} {resource:<34} {d.reason}: {d.message}")
        want_outcome = _OUTCOME_OF.get(expect, "deny")
        got_key = (d.constraint or "").rsplit("/", 1)[-1]
        if d.outcome != want_outcome or d.reason != expect or (constraint is not None and got_key != constraint):
            wanted = expect + (f" ({constraint})" if constraint else "")
            got = d.reason + (f" ({got_key})" if got_key else "")
            line = f"{action} {resource}: expected {wanted}, got {got}"
            self.unexpected.append(line)
            print(f"  !! NOT AS SCRIPTED: {line}")

    def expect_error(self, what: str, error_type: Type[BaseException], call: Callable[[], Any]) -> None:
        """Runs `call`, which the script expects to raise `error_type` (a refusal before any decision)."""
        self.decisions += 1
        try:
            call()
        except error_type as e:
            code = getattr(e, "code", None)
            print(f"  REFUSED  {what}: {type(e).__name__}{f' ({code})' if code else ''}: {e}")
            return
        line = f"{what}: expected {error_type.__name__}, but it succeeded"
        self.unexpected.append(line)
        print(f"  !! NOT AS SCRIPTED: {line}")

    def finish(self, act: ACT, audit_file: Optional[str] = None) -> None:
        """Verifies the audit log's hash chain (one record per validate call), prints the tally
        and exits: status 0 when every decision was as scripted, 1 otherwise."""
        if audit_file is not None:
            act.flush_audit()
            records = verify_audit_log(audit_file)
            print(f"\naudit: {records} records in {audit_file}, hash chain verified")
            if records != self.validated:
                self.unexpected.append(f"the audit log holds {records} records for {self.validated} validated calls")
        act.close()
        if self.unexpected:
            print(f"\n{self.title}: {len(self.unexpected)} of {self.decisions} decisions NOT as scripted:")
            for line in self.unexpected:
                print(f"  - {line}")
            sys.exit(1)
        print(f"\n{self.title}: all {self.decisions} decisions as scripted")


class Tool:
    """A tool as the host exposes it to the model.

    ``resource`` and ``context`` receive the call's arguments by name and return the ACT
    resource and context; ``run`` performs the action on the backend and returns a line to show.
    """

    def __init__(
        self,
        action: str,
        resource: Callable[..., str],
        context: Callable[..., Mapping[str, Any]],
        run: Callable[..., str],
    ) -> None:
        self.action = action
        self.resource = resource
        self.context = context
        self.run = run


class Session:
    """One agent session: a token and the tools the host gates with ACT."""

    def __init__(self, act: ACT, token: str, tools: Dict[str, Tool], script: Script) -> None:
        self.act = act
        self.token = token
        self.tools = tools
        self.script = script

    def call(
        self,
        tool: str,
        *,
        expect: str,
        constraint: Optional[str] = None,
        approval: Optional[str] = None,
        show: bool = True,
        **args: Any,
    ) -> Decision:
        """The model proposes `tool(**args)`; ACT decides; the tool runs only when allowed.
        `expect` is the decision reason the script expects (`constraint`: the deciding key)."""
        spec = self.tools[tool]
        resource = spec.resource(**args)
        decision = self.act.validate(
            token=self.token,
            action=spec.action,
            resource=resource,
            context=dict(spec.context(**args)),
            approval=approval,
        )
        self.script.check(decision, spec.action, resource, expect, constraint, show)
        if decision.allowed:
            result = spec.run(**args)
            if show:
                print(f"           -> {result}")
        return decision
