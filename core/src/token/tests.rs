use super::*;
use crate::keys::SigningKey;
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn spec() -> TokenSpec {
    TokenSpec {
        issuer: "test".into(),
        agent: "customer-support-bot".into(),
        user_context: json!({"user_id": "42", "roles": ["customer"]})
            .as_object()
            .unwrap()
            .clone(),
        ttl_secs: 3600,
        ..Default::default()
    }
}

fn verify(token: &str, key: &SigningKey) -> Result<VerifiedChain, (Reason, String)> {
    let pk = key.verifying_key().clone();
    verify_chain(
        token,
        &move |kid| (kid == pk.kid()).then(|| pk.clone()),
        &VerifyOptions::default(),
    )
}

fn forge(header: Value, claims: Value, key: &SigningKey) -> String {
    let mut t = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key.sign(t.as_bytes());
    t.push('.');
    t.push_str(&URL_SAFE_NO_PAD.encode(sig));
    t
}

fn good_claims() -> Value {
    json!({"iss":"t","sub":"42","act":{"sub":"bot"},"iat":NOW,"exp":NOW+60,"jti":"j1"})
}

#[test]
fn issue_then_verify() {
    let k = SigningKey::generate().unwrap();
    let t = issue(&k, &spec(), NOW).unwrap();
    let chain = verify(&t, &k).unwrap();
    assert_eq!(chain.root().sub, "42");
    assert_eq!(chain.root().agent, "customer-support-bot");
    assert_eq!(chain.root().ctx["roles"], json!(["customer"]));
    assert!(check_time(&chain, NOW + 10, 0).is_ok());
    assert_eq!(check_time(&chain, NOW + 3600, 0).unwrap_err().0, Reason::TokenExpired);
    assert!(check_time(&chain, NOW + 3600, 30).is_ok());
    assert_eq!(
        check_time(&chain, NOW - 100, 30).unwrap_err().0,
        Reason::TokenNotYetValid
    );
}

#[test]
fn issue_rejects_bad_arguments() {
    let k = SigningKey::generate().unwrap();
    let mut s = spec();
    s.user_context.remove("user_id");
    assert!(issue(&k, &s, NOW).unwrap_err().to_string().contains("user_id"));
    let mut s = spec();
    s.ttl_secs = 0;
    assert!(issue(&k, &s, NOW).unwrap_err().to_string().contains("ttl"));
    let mut s = spec();
    s.agent = " ".into();
    assert!(issue(&k, &s, NOW).is_err());
    let mut s = spec();
    s.user_context.insert("blob".into(), "x".repeat(20_000).into());
    assert!(matches!(
        issue(&k, &s, NOW),
        Err(Error::Token {
            reason: Reason::TokenTooLarge,
            ..
        })
    ));
}

#[test]
fn tampering_is_detected() {
    let k = SigningKey::generate().unwrap();
    let t = issue(&k, &spec(), NOW).unwrap();
    let parts: Vec<&str> = t.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("43");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(verify(&tampered, &k).unwrap_err().0, Reason::TokenSignatureInvalid);
    let other = SigningKey::generate().unwrap();
    assert_eq!(verify(&t, &other).unwrap_err().0, Reason::TokenUnknownKey);
    assert_eq!(verify("a.b", &k).unwrap_err().0, Reason::TokenMalformed);
    assert_eq!(verify("", &k).unwrap_err().0, Reason::TokenMalformed);
    assert_eq!(
        verify(&"a".repeat(MAX_TOKEN_BYTES + 1), &k).unwrap_err().0,
        Reason::TokenTooLarge
    );
}

#[test]
fn header_attacks_have_their_own_reasons() {
    let k = SigningKey::generate().unwrap();
    let kid = k.kid().to_string();
    let cases = [
        (
            json!({"alg":"none","typ":"act+jwt","kid":kid}),
            Reason::TokenAlgNotAllowed,
        ),
        (
            json!({"alg":"HS256","typ":"act+jwt","kid":kid}),
            Reason::TokenAlgNotAllowed,
        ),
        (json!({"typ":"act+jwt","kid":kid}), Reason::TokenAlgNotAllowed),
        (json!({"alg":"EdDSA","typ":"act+jwt"}), Reason::TokenHeaderInvalid),
        (json!({"alg":"EdDSA","kid":kid}), Reason::TokenHeaderInvalid),
        (json!({"alg":"EdDSA","typ":"JWT","kid":kid}), Reason::TokenHeaderInvalid),
        (
            json!({"alg":"EdDSA","typ":"act-approval+jwt","kid":kid}),
            Reason::TokenHeaderInvalid,
        ),
        (
            json!({"alg":"EdDSA","typ":"act+jwt","kid":kid,"jwk":{}}),
            Reason::TokenHeaderForbidden,
        ),
        (
            json!({"alg":"EdDSA","typ":"act+jwt","kid":kid,"jku":"x"}),
            Reason::TokenHeaderForbidden,
        ),
        (
            json!({"alg":"EdDSA","typ":"act+jwt","kid":kid,"x5u":"x"}),
            Reason::TokenHeaderForbidden,
        ),
        (
            json!({"alg":"EdDSA","typ":"act+jwt","kid":kid,"crit":["b64"]}),
            Reason::TokenHeaderForbidden,
        ),
    ];
    for (header, reason) in cases {
        let t = forge(header.clone(), good_claims(), &k);
        assert_eq!(verify(&t, &k).unwrap_err().0, reason, "{header}");
    }
    // HS256 with the public key as the HMAC secret: still refused on `alg`.
    let h = URL_SAFE_NO_PAD.encode(json!({"alg":"HS256","typ":"act+jwt","kid":kid}).to_string());
    let c = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.verifying_key().as_bytes()),
        format!("{h}.{c}").as_bytes(),
    );
    let t = format!("{h}.{c}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
    assert_eq!(verify(&t, &k).unwrap_err().0, Reason::TokenAlgNotAllowed);
}

#[test]
fn claim_attacks_have_their_own_reasons() {
    let k = SigningKey::generate().unwrap();
    let header = json!({"alg":"EdDSA","typ":"act+jwt","kid":k.kid()});
    // Duplicate claim: built by hand since serde_json cannot.
    let dup = format!(
        r#"{{"iss":"t","sub":"42","act":{{"sub":"bot"}},"iat":{NOW},"exp":1,"exp":{},"jti":"j"}}"#,
        NOW + 60
    );
    let mut t = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(dup)
    );
    let sig = k.sign(t.as_bytes());
    t = format!("{t}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert_eq!(verify(&t, &k).unwrap_err().0, Reason::TokenDuplicateKey);

    let mut c = good_claims();
    c["exp"] = json!("9999999999");
    assert_eq!(
        verify(&forge(header.clone(), c, &k), &k).unwrap_err().0,
        Reason::TokenClaimInvalid
    );
    let mut c = good_claims();
    c.as_object_mut().unwrap().remove("act");
    assert_eq!(
        verify(&forge(header.clone(), c, &k), &k).unwrap_err().0,
        Reason::TokenClaimInvalid
    );
    let mut c = good_claims();
    c["aud"] = json!("other-service");
    let opts = VerifyOptions {
        audience: Some("refund-service".into()),
        ..Default::default()
    };
    let pk = k.verifying_key().clone();
    let err = verify_chain(&forge(header, c, &k), &move |_| Some(pk.clone()), &opts).unwrap_err();
    assert_eq!(err.0, Reason::TokenAudienceMismatch);
}

#[test]
fn delegation_chain_rules() {
    let issuer = SigningKey::generate().unwrap();
    let holder = SigningKey::generate().unwrap();
    let sub_holder = SigningKey::generate().unwrap();
    let mut s = spec();
    s.holder_key = Some(holder.verifying_key().clone());
    let parent = issue(&issuer, &s, NOW).unwrap();
    let child_spec = DelegationSpec {
        agent: "refund-worker".into(),
        capability: Some(json!({"actions": ["process_refund"]})),
        ttl_secs: 999_999,
        holder_key: Some(sub_holder.verifying_key().clone()),
        ..Default::default()
    };
    let child = delegate(&parent, &holder, &child_spec, NOW).unwrap();
    // The child names a holder key: attenuable, so it acts only sealed by that key.
    assert_eq!(verify(&child, &issuer).unwrap_err().0, Reason::DelegationUnsealed);
    assert_eq!(verify(&parent, &issuer).unwrap_err().0, Reason::DelegationUnsealed);
    assert!(seal(&child, &holder, 60, NOW).is_err(), "only the named holder seals");
    let sealed = seal(&child, &sub_holder, 999_999, NOW).unwrap();
    let chain = verify(&sealed, &issuer).unwrap();
    assert_eq!(chain.links.len(), 3);
    assert_eq!(chain.leaf().agent, "refund-worker");
    assert_eq!(chain.leaf().pjt.as_deref(), Some(chain.links[1].jti.as_str()));
    assert_eq!(chain.links[1].pjt.as_deref(), Some(chain.root().jti.as_str()));
    assert_eq!(chain.exp(), NOW + 3600, "a child never outlives its parent");
    assert!(seal(&sealed, &sub_holder, 60, NOW).is_err(), "a sealed chain is final");
    // Its holder still delegates from its sealed form: the seal is set aside, never extended.
    let from_sealed = delegate(
        &sealed,
        &sub_holder,
        &DelegationSpec {
            agent: "x".into(),
            ttl_secs: 60,
            ..Default::default()
        },
        NOW,
    )
    .unwrap();
    assert!(from_sealed.starts_with(&format!("{child}~")), "{from_sealed}");
    assert_eq!(from_sealed.matches('~').count(), 2);
    assert!(
        delegate(&sealed, &holder, &child_spec, NOW).is_err(),
        "another key cannot"
    );

    // Signed by a key that is not the parent's holder key.
    let pjt = chain.root().jti.clone();
    let intruder = SigningKey::generate().unwrap();
    assert!(delegate(&parent, &intruder, &child_spec, NOW).is_err());
    let forged_child = sign_jws(
        &intruder,
        TOKEN_TYP,
        &json!({"iss":"customer-support-bot","sub":"42","act":{"sub":"x"},"iat":NOW,"exp":NOW+5,"jti":"c","pjt":pjt}),
    );
    let err = verify(&format!("{parent}~{forged_child}"), &issuer).unwrap_err();
    assert_eq!(err.0, Reason::DelegationInvalid);

    // A child for another user.
    let other_user = sign_jws(
        &holder,
        TOKEN_TYP,
        &json!({"iss":"customer-support-bot","sub":"43","act":{"sub":"x"},"iat":NOW,"exp":NOW+5,"jti":"c","pjt":pjt}),
    );
    assert_eq!(
        verify(&format!("{parent}~{other_user}"), &issuer).unwrap_err().0,
        Reason::DelegationInvalid
    );
    // A format-1 child (no `pjt`) fails closed, naming the format.
    let v1 = sign_jws(
        &holder,
        TOKEN_TYP,
        &json!({"iss":"customer-support-bot","sub":"42","act":{"sub":"x"},"iat":NOW,"exp":NOW+5,"jti":"c"}),
    );
    let err = verify(&format!("{parent}~{v1}"), &issuer).unwrap_err();
    assert_eq!(err.0, Reason::DelegationInvalid);
    assert!(err.1.contains("format 1"), "{}", err.1);

    // Depth bound.
    let mut t = child.clone();
    let mut key = sub_holder;
    for i in 0..3 {
        let next = SigningKey::generate().unwrap();
        let spec = DelegationSpec {
            agent: format!("level-{i}"),
            ttl_secs: 60,
            holder_key: Some(next.verifying_key().clone()),
            ..Default::default()
        };
        t = delegate(&t, &key, &spec, NOW).unwrap();
        key = next;
    }
    assert_eq!(verify(&t, &issuer).unwrap_err().0, Reason::DelegationTooDeep);
}

#[test]
fn a_parent_without_cnf_cannot_delegate() {
    let issuer = SigningKey::generate().unwrap();
    let holder = SigningKey::generate().unwrap();
    let parent = issue(&issuer, &spec(), NOW).unwrap();
    let err = delegate(
        &parent,
        &holder,
        &DelegationSpec {
            agent: "x".into(),
            ttl_secs: 5,
            ..Default::default()
        },
        NOW,
    );
    assert!(matches!(
        err,
        Err(Error::Token {
            reason: Reason::DelegationInvalid,
            ..
        })
    ));
}
