"""What the vector writers share: the suite keys and clock, a suite, a policy-error suite, and
writing a file. Imported by the scripts next to it (run them as `python3 tests/vectors/tools/X.py`)."""

import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
SEEDS = {
    "issuer": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "holder": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
}
NOW = 1800000000000


def alice(agent):
    """The usual token set: `alice`, user 42, issued to `agent`."""
    return {"alice": {"issue": {"agent": agent, "user_context": {"user_id": "42"}}}}


def suite(name, description, policy, tokens, steps):
    return {
        "name": name,
        "description": description,
        "now_ms": NOW,
        "keys": SEEDS,
        "signing_key": "issuer",
        "policy": policy,
        "tokens": tokens,
        "steps": steps,
    }


def perr(name, description, policy, *needles):
    """A suite whose policy must not compile; the error text contains every needle."""
    return {
        "name": name,
        "description": description,
        "now_ms": NOW,
        "keys": SEEDS,
        "signing_key": "issuer",
        "policy": policy,
        "policy_error": {"contains": list(needles)},
    }


def write(file, suites, ensure_ascii=True):
    """Writes tests/vectors/<file> as `{"suites": [...]}`, indented by one space."""
    path = os.path.join(ROOT, "tests", "vectors", file)
    with open(path, "w") as f:
        json.dump({"suites": suites}, f, indent=1, ensure_ascii=ensure_ascii)
        f.write("\n")
    return path


def register(file, after="lifecycle.json"):
    """Lists `file` in tests/vectors/index.json (after `after`) unless it is there already."""
    index = os.path.join(ROOT, "tests", "vectors", "index.json")
    with open(index) as f:
        idx = json.load(f)
    if file not in idx["suites"]:
        idx["suites"].insert(idx["suites"].index(after) + 1, file)
    with open(index, "w") as f:
        json.dump(idx, f, indent=2)
        f.write("\n")
