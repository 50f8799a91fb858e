package act.sdk

import act.sdk.Fixtures.ORDER
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

/** The core's Decision fields as Kotlin reads them: shadow, the approver's view, seal, audit_key. */
class DecisionFieldsTest {
    @TempDir
    lateinit var tmp: Path

    private val shadowPolicy = """
        agent: customer-support-bot
        policy:
          actions: [process_refund]
          resources: ["order://customer:{{authenticated_user_id}}/*"]
          constraints:
            process_refund:
              maxAmount: 500
        ---
        agent: customer-support-bot
        shadow: true
        policy:
          actions: [process_refund]
          resources: ["order://customer:{{authenticated_user_id}}/*"]
          constraints:
            process_refund:
              maxAmount: 100
    """.trimIndent() + "\n"

    @Test
    fun `a shadow policy's outcome rides on the decision, and is null without one`() {
        Act(policyFile = Fixtures.policyFile(tmp, shadowPolicy).toString(), signingKey = SigningKey.generate()).use { act ->
            val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            val d = act.validate(token, "process_refund", ORDER, contextOf("amount" to 120))
            assertTrue(d.allowed)
            val shadow = requireNotNull(d.shadow) { "no shadow outcome" }
            assertEquals(Outcome.DENY, shadow.outcome)
            assertEquals("constraint_failed", shadow.reason)
            assertEquals("customer-support-bot", shadow.rule)
            assertTrue(shadow.message.contains("amount <= 100"), shadow.message)
        }
        Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = SigningKey.generate()).use { act ->
            val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            assertNull(act.validate(token, "process_refund", ORDER, contextOf("amount" to 50)).shadow)
        }
    }

    @Test
    fun `the approval request carries the approver's view - context, hash, every condition, the chain`() {
        val key = SigningKey.generate()
        Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = key).use { act ->
            val holder = SigningKey.generate()
            val parent = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), holderKey = holder.publicKey())
            val child = act.delegate(
                token = parent,
                holderKey = holder,
                agent = "refund-subagent",
                ttl = 300,
                policy = contextOf("actions" to listOf("process_refund"), "resources" to listOf("order://customer:42/*")),
            )
            val d = act.validate(child, "process_refund", ORDER, contextOf("amount" to 120, "note" to "damaged"))
            assertEquals(Outcome.APPROVAL_REQUIRED, d.outcome)
            val r = d.approvalRequest!!
            assertEquals(ContextValue.Int(120), r.context["amount"])
            assertEquals(ContextValue.Text("damaged"), r.context["note"])
            assertTrue(r.contextHash.isNotEmpty())
            assertEquals(listOf("customer-support-bot", "refund-subagent"), r.chain)
            assertTrue(r.conditions.isNotEmpty())
            assertEquals(r.constraint, r.conditions.first().constraint)
            assertEquals("amount > 100", r.conditions.first().condition)
            // The approval is bound to exactly this request and still works through the record.
            val approval = act.approve(r.id, approver = "supervisor@example.com", ttl = 600)
            val ok = act.validate(child, "process_refund", ORDER, contextOf("amount" to 120, "note" to "damaged"), approval)
            assertEquals("approved", ok.reason)
        }
    }

    @Test
    fun `a delegated token with a next holder key acts only once its holder seals it`() {
        Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = SigningKey.generate()).use { act ->
            val holder = SigningKey.generate()
            val sub = SigningKey.generate()
            val parent = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), holderKey = holder.publicKey())
            val child = act.delegate(
                token = parent,
                holderKey = holder,
                agent = "lookup-subagent",
                ttl = 300,
                policy = contextOf("actions" to listOf("read_order"), "resources" to listOf("order://customer:42/*")),
                nextHolderKey = sub.publicKey(),
            )
            assertEquals("delegation_unsealed", act.validate(child, "read_order", ORDER, contextOf("rows" to 1)).reason)
            val sealed = act.seal(child, sub, 60)
            assertTrue(act.validate(sealed, "read_order", ORDER, contextOf("rows" to 1)).allowed)
            val wrong = assertThrows(ActException.Token::class.java) { act.seal(child, SigningKey.generate(), 60) }
            assertEquals("token_invalid", wrong.code)
            assertThrows(ActException.Config::class.java) { act.seal(child, sub, 0) }
        }
    }

    @Test
    fun `an audit key checkpoints the log and a truncated tail is refused on reopening`() {
        val policy = Fixtures.policyFile(tmp).toString()
        val log = tmp.resolve("audit.jsonl")
        val key = SigningKey.generate()
        val auditKey = SigningKey.generate()
        fun open() = Act(policyFile = policy, signingKey = key, auditFiles = listOf(log.toString()), auditKey = auditKey)
        open().use { act ->
            val token = act.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            repeat(3) { act.validate(token, "read_order", ORDER, contextOf("rows" to 1)) }
        }
        assertTrue(Files.isRegularFile(tmp.resolve("audit.jsonl.checkpoints")))
        open().close() // an intact log continues
        val lines = Files.readAllLines(log)
        Files.writeString(log, lines.take(2).joinToString("\n") + "\n")
        val broken = assertThrows(ActException.Audit::class.java) { open() }
        assertEquals("audit_chain_broken", broken.code)
    }
}
