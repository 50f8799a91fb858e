package act.sdk

import act.sdk.Fixtures.ORDER
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

/** The article's customer-support scenario, end to end through the Kotlin API. */
class CustomerSupportTest {
    @TempDir
    lateinit var tmp: Path
    private lateinit var policy: Path
    private lateinit var clock: ManualClock
    private lateinit var key: SigningKey
    private lateinit var act: Act
    private lateinit var alice: String

    @BeforeEach
    fun setUp() {
        policy = Fixtures.policyFile(tmp)
        clock = ManualClock(Fixtures.NOW_MS)
        key = SigningKey.generate()
        act = Act(policyFile = policy.toString(), signingKey = key, clock = clock)
        alice = act.issueToken(
            agent = "customer-support-bot",
            userContext = contextOf("user_id" to "42", "roles" to listOf("customer")),
            ttl = 172_800,
        )
    }

    @AfterEach
    fun tearDown() = act.close()

    private fun refund(amount: Any, approval: String? = null) =
        act.validate(alice, "process_refund", ORDER, contextOf("amount" to amount), approval)

    @Test
    fun refundUnder100IsAllowed() {
        val d = refund(80)
        assertTrue(d.allowed)
        assertEquals(Outcome.ALLOW, d.outcome)
        assertEquals("allow", d.outcome.code)
        assertEquals("allowed", d.reason)
        assertEquals("customer-support-bot", d.rule)
        assertEquals("customer-support-bot", d.agent)
        assertEquals("42", d.subject)
        assertEquals(1uL, d.snapshotVersion)
        assertTrue(d.auditId.isNotEmpty(), "logAllActions: true")
    }

    @Test
    fun refundOver500IsDeniedNamingTheConstraint() {
        val d = refund(600)
        assertFalse(d.allowed)
        assertEquals(Outcome.DENY, d.outcome)
        assertEquals("constraint_failed", d.reason)
        assertEquals("customer-support-bot/process_refund/maxAmount", d.constraint)
        assertTrue(d.message.contains("amount <= 500"), d.message)
    }

    @Test
    fun fractionalAmountsCompareLikeWholeOnes() {
        assertEquals("approval_required", refund(120.5).reason)
        assertEquals("allowed", refund(99.5).reason)
    }

    @Test
    fun otherCustomersOrdersAreOutOfReach() {
        assertEquals("resource_not_allowed", act.validate(alice, "read_order", "order://customer:43/1001").reason)
    }

    @Test
    fun adminFunctionsAreNotGranted() {
        assertEquals("action_not_allowed", act.validate(alice, "delete_customer", ORDER).reason)
    }

    @Test
    fun largeRefundNeedsAHumanThenPassesOnce() {
        val first = refund(120)
        assertEquals(Outcome.APPROVAL_REQUIRED, first.outcome)
        assertEquals("approval_required", first.reason)
        val request = requireNotNull(first.approvalRequest) { "no approval request" }
        assertEquals("amount > 100", request.condition)
        assertEquals(ORDER, request.resource)
        assertEquals("process_refund", request.action)
        val approval = act.approve(request.id, approver = "supervisor@example.com", ttl = 600)
        // The approval is bound to the exact request: another amount does not use it.
        assertEquals("approval_invalid", refund(130, approval).reason)
        val ok = refund(120, approval)
        assertTrue(ok.allowed)
        assertEquals("approved", ok.reason)
        assertEquals("approval_replayed", refund(120, approval).reason)
    }

    @Test
    fun fiveRefundsADayThenRateLimitedUntilTomorrow() {
        repeat(5) { assertTrue(refund(50).allowed) }
        val sixth = refund(50)
        assertEquals("rate_limited", sixth.reason)
        assertEquals("customer-support-bot/process_refund/maxPerDay", sixth.constraint)
        clock.advanceMs(86_400_000)
        assertTrue(refund(50).allowed)
    }

    @Test
    fun checkAndExplainDoNotConsumeLimits() {
        repeat(10) {
            val d = act.check(alice, "process_refund", ORDER, contextOf("amount" to 50))
            assertTrue(d.allowed)
            assertEquals("", d.auditId)
            assertNull(d.trace)
        }
        val explained = act.explain(alice, "process_refund", ORDER, contextOf("amount" to 600))
        assertEquals("constraint_failed", explained.reason)
        val trace = requireNotNull(explained.trace) { "explain gave no trace" }
        assertEquals("token", trace.first().stage)
        assertTrue(trace.any { it.detail.contains("amount <= 500") }, trace.toString())
        repeat(5) { assertTrue(refund(50).allowed) }
    }

    @Test
    fun forgedAndForeignTokensAreDeniesNotExceptions() {
        assertEquals("token_malformed", act.validate("not-a-token", "read_order", ORDER).reason)
        val tampered = alice.dropLast(3) + if (alice.endsWith("AAA")) "BBB" else "AAA"
        assertEquals("token_signature_invalid", act.validate(tampered, "read_order", ORDER).reason)
        val foreign = Act(policyFile = policy.toString(), signingKey = SigningKey.generate()).use {
            it.issueToken("customer-support-bot", contextOf("user_id" to "42"))
        }
        assertEquals("token_unknown_key", act.validate(foreign, "read_order", ORDER).reason)
    }

    @Test
    fun expiredToken() {
        val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), ttl = 60)
        clock.advanceMs(120_000)
        assertEquals("token_expired", act.validate(token, "read_order", ORDER).reason)
    }

    @Test
    fun inlinePolicyFromTheArticle() {
        // Step 2 of the article's "Combined Architecture": a token scoped to Alice's mail.
        val p = tmp.resolve("p.yaml")
        Files.writeString(p, "agent: email-assistant\npolicy:\n  actions: [read]\n  resources: [\"email://{{user.id}}/*\"]\n")
        Act(policyFile = p.toString(), signingKey = key, clock = clock).use { mail ->
            val token = mail.issueToken(
                agent = "email-assistant",
                userContext = contextOf("user_id" to "alice", "oauth_scopes" to listOf("read:email")),
                policy = contextOf("actions" to listOf("read"), "resources" to listOf("email://alice/*")),
            )
            assertTrue(mail.validate(token, "read", "email://alice/17").allowed)
            assertEquals("resource_not_allowed", mail.validate(token, "read", "email://bob/17").reason)
        }
    }

    @Test
    fun delegationNarrows() {
        val holder = SigningKey.generate()
        val parent = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), holderKey = holder.publicKey())
        val child = act.delegate(
            token = parent,
            holderKey = holder,
            agent = "lookup-subagent",
            ttl = 300,
            policy = contextOf("actions" to listOf("read_order"), "resources" to listOf("order://customer:42/*")),
        )
        assertTrue(child.startsWith("$parent~"))
        assertTrue(act.validate(child, "read_order", ORDER, contextOf("rows" to 1)).allowed)
        assertEquals("action_not_allowed", act.validate(child, "process_refund", ORDER, contextOf("amount" to 10)).reason)
    }

    @Test
    fun reloadPicksUpTheEditedFile() {
        assertEquals(Outcome.APPROVAL_REQUIRED, refund(450).outcome)
        Files.writeString(policy, Files.readString(policy).replace("maxAmount: 500", "maxAmount: 400"))
        assertEquals(2uL, act.reload())
        val d = refund(450)
        assertEquals("constraint_failed", d.reason)
        assertEquals(2uL, d.snapshotVersion)
        assertEquals(2uL, act.status().snapshotVersion)
    }

    @Test
    fun aBrokenEditKeepsTheServingPolicies() {
        Files.writeString(policy, Files.readString(policy).replace("maxAmount: 500", "maxAmont: 400"))
        val err = org.junit.jupiter.api.assertThrows<ActException.Policy> { act.reload() }
        assertEquals("policy_invalid", err.code)
        assertTrue(err.diagnostics.any { it.key.contains("maxAmont") }, err.diagnostics.toString())
        assertEquals(1uL, act.status().snapshotVersion)
        assertEquals("approval_required", refund(450).reason)
    }

    @Test
    fun jsonContextConvenience() {
        val ctx = contextFromJson("""{"amount": 120, "note": "late delivery"}""")
        assertEquals(ContextValue.Int(120), ctx["amount"])
        assertEquals("approval_required", act.check(alice, "process_refund", ORDER, ctx).reason)
        assertEquals(ctx, contextFromJson(contextToJson(ctx)))
    }

    @Test
    fun concurrentValidationsShareOneEngineAndOneLimit() {
        val allowed = java.util.concurrent.atomic.AtomicInteger()
        val threads = (1..8).map {
            Thread { repeat(4) { if (refund(10).allowed) allowed.incrementAndGet() } }
        }
        threads.forEach { it.start() }
        threads.forEach { it.join() }
        assertEquals(5, allowed.get(), "maxPerDay: 5 holds exactly under threads")
    }
}
