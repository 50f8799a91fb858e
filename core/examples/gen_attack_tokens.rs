//! Regenerates the hand-crafted hostile tokens in `tests/vectors/tokens.json`.
//!
//! `cargo run -p act-core --example gen_attack_tokens` prints a JSON object of
//! name → token. Ed25519 is deterministic, so the output is stable; the
//! vectors embed it so that every language checks the very same bytes.

use act_core::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

fn key(seed: &str) -> SigningKey {
    SigningKey::from_seed(&URL_SAFE_NO_PAD.decode(seed).unwrap()).unwrap()
}

fn jws(header: &str, claims: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn main() {
    let issuer = key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    let attacker = key("QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8");
    let kid = issuer.kid().to_string();
    let claims = json!({
        "iss": "act", "sub": "42", "act": {"sub": "customer-support-bot"},
        "iat": 1_799_999_000, "nbf": 1_799_999_000, "exp": 4_000_000_000i64, "jti": "vector-jti-1",
        "ctx": {"user_id": "42"}
    });
    let c = claims.to_string();
    let h = |extra: Value| {
        let mut base = json!({"alg": "EdDSA", "typ": "act+jwt", "kid": kid});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.to_string()
    };
    let mut out = serde_json::Map::new();
    let mut put = |name: &str, t: String| {
        out.insert(name.into(), Value::String(t));
    };
    put("valid", jws(&h(json!({})), &c, &issuer));
    // alg none: header says none, signature empty.
    let none_h = h(json!({"alg": "none"}));
    put(
        "alg_none",
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(&none_h), URL_SAFE_NO_PAD.encode(&c)),
    );
    // HS256 with the issuer's public key as the HMAC secret (the classic confusion attack).
    let hs_h = h(json!({"alg": "HS256"}));
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(&hs_h), URL_SAFE_NO_PAD.encode(&c));
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, issuer.verifying_key().as_bytes()),
        input.as_bytes(),
    );
    put(
        "hs256_public_key_secret",
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())),
    );
    // The attacker signs and embeds their own key in the header.
    let jwk: Value = serde_json::from_str(&attacker.verifying_key().to_jwk()).unwrap();
    put(
        "embedded_jwk",
        jws(&h(json!({"jwk": jwk, "kid": attacker.kid()})), &c, &attacker),
    );
    put(
        "jku_header",
        jws(&h(json!({"jku": "https://attacker.invalid/keys"})), &c, &issuer),
    );
    put("crit_header", jws(&h(json!({"crit": ["exp"]})), &c, &issuer));
    put("missing_kid", jws(&h(json!({"kid": null})), &c, &issuer));
    put("wrong_typ", jws(&h(json!({"typ": "JWT"})), &c, &issuer));
    let dup = c.replacen("\"sub\":\"42\"", "\"sub\":\"42\",\"sub\":\"43\"", 1);
    assert_ne!(dup, c);
    put("duplicate_claim", jws(&h(json!({})), &dup, &issuer));
    let mut s = claims.clone();
    s["exp"] = json!("4000000000");
    put("string_exp", jws(&h(json!({})), &s.to_string(), &issuer));
    let mut a = claims.clone();
    a["aud"] = json!("another-service");
    put("other_audience", jws(&h(json!({})), &a.to_string(), &issuer));
    let mut e = claims.clone();
    e["exp"] = json!(1_799_999_500);
    put("expired", jws(&h(json!({})), &e.to_string(), &issuer));
    put("foreign_key", jws(&h(json!({"kid": attacker.kid()})), &c, &attacker));
    let valid = jws(&h(json!({})), &c, &issuer);
    let (body, sig) = valid.rsplit_once('.').unwrap();
    let mut bad = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bad[0] ^= 1;
    put("bad_signature", format!("{body}.{}", URL_SAFE_NO_PAD.encode(bad)));
    let mut w = claims.clone();
    w["sub"] = json!("*");
    w["ctx"] = json!({"user_id": "*"});
    put("wildcard_user", jws(&h(json!({})), &w.to_string(), &issuer));
    println!("{}", serde_json::to_string_pretty(&Value::Object(out)).unwrap());
}
