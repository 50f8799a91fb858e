import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTORS = Path(os.environ.get("ACT_VECTORS_DIR", REPO / "tests" / "vectors"))

# The article's customer-support policy, as written (re-indented only).
ARTICLE_POLICY = """\
agent: customer-support-bot
policy:
  actions:
    - read_order
    - process_refund
  resources:
    - "order://customer:{{authenticated_user_id}}/*"
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
    orders:
      onlyOwnOrders: true
      maxRowsPerQuery: 50
    audit:
      logAllActions: true
      retainFor: 90days
"""

NOW_MS = 1_800_000_000_000


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(ARTICLE_POLICY)
    return path


@pytest.fixture
def clock():
    from act_sdk.testing import ManualClock

    return ManualClock(NOW_MS)


@pytest.fixture
def key():
    from act_sdk import SigningKey

    return SigningKey.generate()


@pytest.fixture
def act(policy_file, key, clock):
    from act_sdk import ACT

    with ACT(policy_file=policy_file, signing_key=key, clock=clock) as a:
        yield a


@pytest.fixture
def alice(act):
    return act.issue_token(
        agent="customer-support-bot", user_context={"user_id": "42", "roles": ["customer"]}, ttl=172_800
    )
