'use strict'
// Interop with `jose`, a standard JWT library, in both directions: tokens it
// mints with ACT's claims validate, and ACT's tokens verify in it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { ACT, SigningKey } = require('..')

const POLICY = `
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
`

let jose
test.before(async () => {
  jose = await import('jose')
})

function client(key, opts = {}) {
  return new ACT({ policy: POLICY, signingKey: key, ...opts })
}

async function mint(key, { header = {}, claims = {}, ttl = '10m' } = {}) {
  const privateKey = await jose.importJWK(key.toJwk(), 'EdDSA')
  return new jose.SignJWT({
    act: { sub: 'customer-support-bot' },
    ctx: { user_id: '42', roles: ['customer'] },
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'act+jwt', kid: key.kid, ...header })
    .setIssuer('https://issuer.example')
    .setSubject('42')
    .setJti(globalThis.crypto.randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(ttl)
    .sign(privateKey)
}

test('a token minted by jose SignJWT validates', async () => {
  const issuer = SigningKey.generate()
  // The issuer is trusted but not the local signing key.
  const act = client(SigningKey.generate(), { trust: [issuer.publicKey] })
  try {
    const token = await mint(issuer)
    const ok = act.validate({
      token,
      action: 'process_refund',
      resource: 'order://customer:42/7',
      context: { amount: 20 },
    })
    assert.equal(ok.reason, 'allowed', ok.message)
    assert.equal(ok.agent, 'customer-support-bot')
    assert.equal(ok.subject, '42')
    const other = act.validate({ token, action: 'read_order', resource: 'order://customer:43/7' })
    assert.equal(other.reason, 'resource_not_allowed')
  } finally {
    await act.close()
  }
})

test('jose tokens that break the rules are denied with their reason', async () => {
  const issuer = SigningKey.generate()
  const act = client(SigningKey.generate(), { trust: [issuer], audience: 'orders-api' })
  const req = { action: 'read_order', resource: 'order://customer:42/7' }
  try {
    const deny = async (opts, reason) => {
      const token = await mint(issuer, opts)
      assert.equal(act.validate({ token, ...req }).reason, reason, JSON.stringify(opts))
    }
    await deny({ claims: { aud: 'orders-api' } }, 'allowed')
    await deny({ claims: { aud: 'billing-api' } }, 'token_audience_mismatch')
    await deny({}, 'token_audience_mismatch')
    await deny({ claims: { aud: 'orders-api' }, header: { typ: 'JWT' } }, 'token_header_invalid')
    await deny({ claims: { aud: 'orders-api' }, header: { kid: 'someone-else' } }, 'token_unknown_key')
    await deny({ claims: { aud: 'orders-api' }, ttl: '-2m' }, 'token_expired')
    // Signed by a key nobody trusts, under the trusted key's id.
    const forger = SigningKey.generate()
    const forged = await mint(forger, { claims: { aud: 'orders-api' }, header: { kid: issuer.kid } })
    assert.equal(act.validate({ token: forged, ...req }).reason, 'token_signature_invalid')
    // HMAC keyed with the public key: refused before any key is looked up.
    const hs = await new jose.SignJWT({ act: { sub: 'customer-support-bot' }, ctx: { user_id: '42' } })
      .setProtectedHeader({ alg: 'HS256', typ: 'act+jwt', kid: issuer.kid })
      .setSubject('42')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(issuer.publicKey))
    assert.equal(act.validate({ token: hs, ...req }).reason, 'token_alg_not_allowed')
  } finally {
    await act.close()
  }
})

test('ACT tokens verify with jose jwtVerify and the public JWK', async () => {
  const key = SigningKey.generate()
  const holder = SigningKey.generate()
  const act = client(key, { audience: 'orders-api' })
  try {
    const token = act.issueToken({
      agent: 'customer-support-bot',
      userContext: { user_id: '42', roles: ['customer'] },
      ttl: 600,
      holderKey: holder,
    })
    const jwk = key.publicJwk()
    assert.equal(jwk.kid, key.kid)
    assert.equal(jwk.d, undefined)
    const publicKey = await jose.importJWK(jwk, 'EdDSA')
    const { payload, protectedHeader } = await jose.jwtVerify(token, publicKey, {
      algorithms: ['EdDSA'],
      typ: 'act+jwt',
      audience: 'orders-api',
      issuer: 'act',
      subject: '42',
    })
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', typ: 'act+jwt', kid: key.kid })
    assert.deepEqual(payload.act, { sub: 'customer-support-bot' })
    assert.deepEqual(payload.ctx, { user_id: '42', roles: ['customer'] })
    assert.equal(payload.exp - payload.iat, 600)
    assert.equal(payload.cnf.jwk.kid, holder.kid)
    // The kid is the RFC 7638 thumbprint, as jose computes it.
    assert.equal(await jose.calculateJwkThumbprint(jwk), key.kid)
    // The wrong key fails in jose too.
    const wrong = await jose.importJWK(SigningKey.generate().publicJwk(), 'EdDSA')
    await assert.rejects(jose.jwtVerify(token, wrong), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })

    // Each link of a delegation chain is a JWS too, signed by its parent's holder key.
    const chain = act.delegate(token, {
      holderKey: holder,
      agent: 'refund-helper',
      ttl: 60,
      policy: { actions: ['read_order'], resources: ['order://customer:42/*'] },
    })
    const child = chain.split('~')[1]
    const { payload: c } = await jose.jwtVerify(child, await jose.importJWK(holder.publicJwk(), 'EdDSA'), {
      typ: 'act+jwt',
    })
    assert.equal(c.iss, 'customer-support-bot')
    assert.deepEqual(c.act, { sub: 'refund-helper' })
  } finally {
    await act.close()
  }
})

test('keys move between jose and act-sdk as JWK and PEM', async () => {
  const { privateKey } = await jose.generateKeyPair('EdDSA', { extractable: true })
  const jwk = await jose.exportJWK(privateKey)
  const key = SigningKey.fromJwk(jwk)
  assert.equal(key.publicJwk().x, jwk.x)
  const pem = await jose.exportPKCS8(privateKey)
  assert.equal(SigningKey.fromPem(pem).kid, key.kid)
  const back = await jose.importPKCS8(key.toPem(), 'EdDSA', { extractable: true })
  assert.deepEqual((await jose.exportJWK(back)).d, jwk.d)
})
