package act.sdk

import act.sdk.Fixtures.ORDER
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

/**
 * Every kind of bad input arrives as its own ActException variant with the core's stable code.
 * (Wrong types cannot be written in Kotlin; the compiler refuses them.) An agent's bad input to
 * validate (token, action, resource) is a deny with a reason, never an exception.
 */
class ErrorMappingTest {
    @TempDir
    lateinit var tmp: Path

    private fun act(key: SigningKey = SigningKey.generate()) =
        Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = key, clock = ManualClock(Fixtures.NOW_MS))

    private inline fun <reified T : ActException> raises(code: String, noinline block: () -> Unit): T {
        val e = assertThrows<T>(block)
        assertEquals(code, e.code, e.msg)
        assertTrue(e.msg.isNotBlank())
        assertTrue(e.message!!.contains(code), "the exception message shows the code: ${e.message}")
        return e
    }

    @Test
    fun constructor() {
        val policy = Fixtures.policyFile(tmp).toString()
        val io = raises<ActException.Io>("io_error") { Act(policyFile = tmp.resolve("missing.yaml").toString()) }
        assertTrue(io.path.endsWith("missing.yaml"), io.path)
        val bad = tmp.resolve("bad.yaml")
        Files.writeString(bad, "agent: x\npolicy:\n  actions: [a]\n  resources: ['**']\n  constraints:\n    a:\n      maxAmont: 5\n")
        val p = raises<ActException.Policy>("policy_invalid") { Act(policyFile = bad.toString()) }
        assertEquals(7uL, p.diagnostics.first().line)
        assertTrue(p.diagnostics.first().key.contains("maxAmont"), p.diagnostics.toString())
        assertTrue(p.msg.contains("bad.yaml:7:"), p.msg)
        raises<ActException.Config>("invalid_argument") { Act(policyFile = policy, audience = "") }
        raises<ActException.Config>("invalid_argument") { Act(policyFile = policy, leeway = -1) }
        raises<ActException.Config>("invalid_argument") { Act(policyFile = policy, issuer = " ") }
        raises<ActException.Io>("io_error") { Act(policyFile = policy, auditFiles = listOf(tmp.resolve("no/such/dir.jsonl").toString())) }
    }

    @Test
    fun issueToken() {
        act().use { act ->
            val ok = contextOf("user_id" to "42")
            raises<ActException.Config>("invalid_argument") { act.issueToken("", ok) }
            raises<ActException.Config>("invalid_argument") { act.issueToken("unknown-bot", ok) }
            raises<ActException.Config>("invalid_argument") { act.issueToken("customer-support-bot", emptyMap()) }
            val nan = raises<ActException.Config>("invalid_argument") {
                act.issueToken("customer-support-bot", ok + ("x" to ContextValue.Double(Double.NaN)))
            }
            assertTrue(nan.msg.contains("user_context[\"x\"]"), nan.msg)
            raises<ActException.Policy>("policy_invalid") {
                act.issueToken("customer-support-bot", ok, policy = contextOf("actoins" to listOf("read"), "resources" to listOf("**")))
            }
            raises<ActException.Config>("invalid_argument") { act.issueToken("customer-support-bot", ok, ttl = 0) }
            raises<ActException.Config>("invalid_argument") { act.issueToken("customer-support-bot", ok, ttl = -5) }
            raises<ActException.Config>("invalid_argument") { act.issueToken("customer-support-bot", ok, ttl = 1_000_000_000) }
            val big = raises<ActException.Token>("token_invalid") {
                act.issueToken("customer-support-bot", ok + ("blob" to ContextValue.Text("x".repeat(20_000))))
            }
            assertEquals("token_too_large", big.reason)
        }
    }

    @Test
    fun validateCheckExplain() {
        act().use { act ->
            val alice = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            val calls = listOf(act::validate, act::check, act::explain)
            for (call in calls) {
                raises<ActException.Config>("invalid_argument") {
                    call(alice, "read_order", ORDER, contextOf("x" to Double.POSITIVE_INFINITY), null)
                }
                // Nesting deeper than JSON allows is refused, not a stack overflow.
                var deep: ContextValue = ContextValue.Null
                repeat(100) { deep = ContextValue.Array(listOf(deep)) }
                raises<ActException.Config>("invalid_argument") { call(alice, "read_order", ORDER, mapOf("deep" to deep), null) }
            }
            // An agent's bad input is a deny with a reason, not an exception.
            assertEquals("request_invalid", act.validate(alice, "", ORDER).reason)
            assertEquals("resource_invalid", act.validate(alice, "read_order", "order://customer:42/../43/1").reason)
            assertEquals("token_malformed", act.validate("", "read_order", ORDER).reason)
            assertEquals(Outcome.DENY, act.validate(alice, "read_order", ORDER, approval = "junk").outcome)
        }
    }

    @Test
    fun approve() {
        act().use { act ->
            val alice = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            val request = act.validate(alice, "process_refund", ORDER, contextOf("amount" to 200)).approvalRequest!!
            raises<ActException.Config>("invalid_argument") { act.approve("not-an-id", "a", 60) }
            raises<ActException.Config>("invalid_argument") { act.approve(request.id, " ", 60) }
            raises<ActException.Config>("invalid_argument") { act.approve(request.id, "a", 0) }
            raises<ActException.Config>("invalid_argument") { act.approve(request.id, "a", 30L * 86_400) }
        }
    }

    @Test
    fun delegate() {
        act().use { act ->
            val holder = SigningKey.generate()
            val parent = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), holderKey = holder.publicKey())
            val noCnf = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            val wrong = raises<ActException.Token>("token_invalid") { act.delegate(parent, SigningKey.generate(), "sub", 60) }
            assertEquals("delegation_invalid", wrong.reason)
            raises<ActException.Token>("token_invalid") { act.delegate(noCnf, holder, "sub", 60) }
            raises<ActException.Token>("token_invalid") { act.delegate("garbage", holder, "sub", 60) }
            raises<ActException.Config>("invalid_argument") { act.delegate(parent, holder, "", 60) }
            raises<ActException.Config>("invalid_argument") { act.delegate(parent, holder, "sub", 0) }
            raises<ActException.Policy>("policy_invalid") {
                act.delegate(parent, holder, "sub", 60, policy = contextOf("actions" to emptyList<String>()))
            }
        }
    }

    @Test
    fun keys() {
        raises<ActException.Key>("key_invalid") { SigningKey.fromSeed(byteArrayOf(1, 2, 3)) }
        raises<ActException.Key>("key_invalid") { SigningKey.fromPem("junk") }
        raises<ActException.Key>("key_invalid") { SigningKey.fromJwk("{") }
        raises<ActException.Key>("key_invalid") { SigningKey.fromJwk("""{"kty":"EC"}""") }
        raises<ActException.Key>("key_invalid") { VerifyingKey.parse("rsa:abc") }
        raises<ActException.Key>("key_invalid") { VerifyingKey.parse("ed25519:AAAA") }
        raises<ActException.Key>("key_invalid") { VerifyingKey.fromBytes(byteArrayOf(1)) }
        raises<ActException.Key>("key_invalid") { VerifyingKey.fromJwk("""{"kty":"OKP","crv":"Ed25519"}""") }
    }

    @Test
    fun keysRoundTrip() {
        val key = SigningKey.generate()
        val fromPem = SigningKey.fromPem(key.toPem())
        val fromJwk = SigningKey.fromJwk(key.toJwk())
        assertEquals(key.kid(), fromPem.kid())
        assertEquals(key.kid(), fromJwk.kid())
        val seeded = SigningKey.fromSeed(ByteArray(32) { it.toByte() })
        assertEquals(seeded.kid(), SigningKey.fromSeed(ByteArray(32) { it.toByte() }).kid())
        val pub = key.publicKey()
        assertEquals(pub, VerifyingKey.parse(pub.toString()))
        assertEquals(pub, VerifyingKey.fromJwk(pub.toJwk()))
        assertEquals(pub, VerifyingKey.fromBytes(pub.toBytes()))
        assertEquals(pub.hashCode(), VerifyingKey.parse(pub.toString()).hashCode())
        assertNotEquals(pub, seeded.publicKey())
        assertTrue(pub.toString().startsWith("ed25519:"))
        assertFalse(key.toString().contains(key.toPem()), "a SigningKey never prints its secret")
        assertFalse(pub.verify("m".toByteArray(), ByteArray(64)))
    }

    @Test
    fun contextJson() {
        raises<ActException.Config>("invalid_argument") { contextFromJson("[1]") }
        raises<ActException.Config>("invalid_argument") { contextFromJson("""{"a": 1, "a": 2}""") }
        raises<ActException.Config>("invalid_argument") { contextFromJson("{") }
        val e = assertThrows<IllegalArgumentException> { contextOf("when" to Any()) }
        assertTrue(e.message!!.contains("context[\"when\"]"), e.message)
        assertEquals(mapOf("a" to 1L, "b" to listOf(true, null)), contextValueOf(mapOf("a" to 1, "b" to listOf(true, null))).toKotlin())
    }

    @Test
    fun auditLogVerification() {
        raises<ActException.Io>("io_error") { verifyAuditLog(tmp.resolve("missing.jsonl").toString()) }
        val log = tmp.resolve("audit.jsonl")
        Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = SigningKey.generate(), auditFiles = listOf(log.toString())).use { act ->
            val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            for (amount in listOf(10, 20, 30)) act.validate(token, "process_refund", ORDER, contextOf("amount" to amount))
        }
        assertEquals(3uL, verifyAuditLog(log.toString()))
        val lines = Files.readAllLines(log)
        Files.writeString(log, listOf(lines[0], lines[2]).joinToString("\n") + "\n")
        val err = raises<ActException.Audit>("audit_chain_broken") { verifyAuditLog(log.toString()) }
        assertEquals(2uL, err.line)
        Files.writeString(log, listOf(lines[0], lines[1].replace("\"amount\":20", "\"amount\":2000"), lines[2]).joinToString("\n") + "\n")
        raises<ActException.Audit>("audit_chain_broken") { verifyAuditLog(log.toString()) }
    }

    @Test
    fun aClosedActRefusesEveryCall() {
        val act = act()
        val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
        act.close()
        act.close() // idempotent
        // Kotlin's close() is AutoCloseable's: the Rust object is gone, and uniffi says so.
        assertThrows<IllegalStateException> { act.validate(token, "read_order", ORDER) }
        assertThrows<IllegalStateException> { act.issueToken("customer-support-bot", contextOf("user_id" to "1")) }
        assertThrows<IllegalStateException> { act.reload() }
    }

    @Test
    fun aPanicInTheCoreArrivesAsInternal() {
        val e = raises<ActException.Internal>("internal") { panicForTests() }
        assertTrue(e.msg.contains("deliberate panic"), e.msg)
        // The library still works afterwards.
        assertTrue(reasonCodes().contains("constraint_failed"))
    }
}
