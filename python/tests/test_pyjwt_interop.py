"""Interop with PyJWT, both ways: standard JWT libraries can mint and verify ACT tokens."""

import time
import uuid

import pytest

jwt = pytest.importorskip("jwt")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from act_sdk import ACT, SigningKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

ORDER = "order://customer:42/1001"


@pytest.fixture
def live_act(policy_file, key):
    # PyJWT checks times against the real clock, so this ACT uses it too.
    with ACT(policy_file=policy_file, signing_key=key) as act:
        yield act


def test_our_token_verifies_in_pyjwt(live_act: ACT, key: SigningKey) -> None:
    token = live_act.issue_token(agent="customer-support-bot", user_context={"user_id": "42", "roles": ["customer"]})
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "typ": "act+jwt", "kid": key.kid}
    public = Ed25519PublicKey.from_public_bytes(key.public_key.to_bytes())
    claims = jwt.decode(token, public, algorithms=["EdDSA"])
    assert claims["sub"] == "42"
    assert claims["act"] == {"sub": "customer-support-bot"}
    assert claims["ctx"]["roles"] == ["customer"]
    assert claims["exp"] - claims["iat"] == 3600
    # The public JWK works as well.
    jwk = jwt.PyJWK.from_json(key.public_key.to_jwk())
    assert jwt.decode(token, jwk, algorithms=["EdDSA"])["jti"] == claims["jti"]
    # And another key does not.
    other = Ed25519PublicKey.from_public_bytes(SigningKey.generate().public_key.to_bytes())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["EdDSA"])


def _claims(**extra):
    now = int(time.time())
    claims = {
        "iss": "act",
        "sub": "42",
        "act": {"sub": "customer-support-bot"},
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "ctx": {"user_id": "42"},
    }
    claims.update(extra)
    return claims


def test_pyjwt_minted_token_validates(live_act: ACT, key: SigningKey) -> None:
    private = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    token = jwt.encode(_claims(), private, algorithm="EdDSA", headers={"typ": "act+jwt", "kid": key.kid})
    d = live_act.validate(token=token, action="process_refund", resource=ORDER, context={"amount": 80})
    assert d.allowed, d
    assert d.subject == "42" and d.agent == "customer-support-bot"
    assert (
        live_act.validate(token=token, action="process_refund", resource=ORDER, context={"amount": 900}).reason
        == "constraint_failed"
    )


def test_pyjwt_tokens_that_break_the_rules_are_denied(live_act: ACT, key: SigningKey) -> None:
    private = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    no_kid = jwt.encode(_claims(), private, algorithm="EdDSA", headers={"typ": "act+jwt"})
    assert live_act.validate(token=no_kid, action="read_order", resource=ORDER).reason == "token_header_invalid"
    hs256 = jwt.encode(
        _claims(), "a-shared-secret-that-is-long-enough!", algorithm="HS256", headers={"typ": "act+jwt", "kid": key.kid}
    )
    assert live_act.validate(token=hs256, action="read_order", resource=ORDER).reason == "token_alg_not_allowed"
    expired = jwt.encode(
        _claims(exp=int(time.time()) - 3600), private, algorithm="EdDSA", headers={"typ": "act+jwt", "kid": key.kid}
    )
    assert live_act.validate(token=expired, action="read_order", resource=ORDER).reason == "token_expired"
    stranger = serialization.load_pem_private_key(SigningKey.generate().to_pem().encode(), password=None)
    forged = jwt.encode(_claims(), stranger, algorithm="EdDSA", headers={"typ": "act+jwt", "kid": key.kid})
    assert live_act.validate(token=forged, action="read_order", resource=ORDER).reason == "token_signature_invalid"


def test_keys_round_trip_through_cryptography(key: SigningKey) -> None:
    private = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert SigningKey.from_pem(pem.decode()).kid == key.kid
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert SigningKey.from_seed(raw).kid == key.kid
    sig = private.sign(b"hello")
    assert key.public_key.verify(b"hello", sig)
    assert not key.public_key.verify(b"hellO", sig)
