package act.sdk

import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import java.math.BigDecimal
import java.math.BigInteger
import java.nio.file.Files
import java.nio.file.Path
import java.util.Base64

/**
 * Runs every conformance vector in tests/vectors/ through the Kotlin API, with the
 * semantics of core/tests/vectors.rs (see tests/vectors/README.md): one dynamic test per suite.
 */
class VectorsTest {
    private fun suites(): List<Pair<String, JSONObject>> {
        val index = JSONObject(Files.readString(Fixtures.vectorsDir.resolve("index.json")))
        assertEquals(1, index.getInt("format"), "unknown vector format")
        val out = mutableListOf<Pair<String, JSONObject>>()
        for (file in index.getJSONArray("suites").map { it as String }) {
            val doc = JSONObject(Files.readString(Fixtures.vectorsDir.resolve(file)))
            for (suite in doc.getJSONArray("suites")) out += file to (suite as JSONObject)
        }
        return out
    }

    @Test
    fun everyVectorFileHasSuites() {
        assertTrue(suites().size >= 10, "only ${suites().size} suites found in ${Fixtures.vectorsDir}")
    }

    @TestFactory
    fun conformanceVectors(): List<DynamicTest> = suites().map { (file, suite) ->
        DynamicTest.dynamicTest("$file: ${suite.optString("name", "?")}") {
            val tmp = Files.createTempDirectory("act-vector")
            try {
                runSuite(file, suite, tmp)
            } finally {
                tmp.toFile().deleteRecursively()
            }
        }
    }

    private fun runSuite(file: String, suite: JSONObject, tmp: Path) {
        // Loaded as file `policy.yaml`: error texts name it.
        val policy = Fixtures.policyFile(tmp, suite.optString("policy", ""), name = "policy.yaml")
        if (suite.has("policy_error")) {
            val err = assertThrows<ActException> { Suite(file, suite, policy, tmp).close() }
            assertEquals("policy_invalid", err.code, "$file: ${err.msg}")
            for (needle in suite.getJSONObject("policy_error").getJSONArray("contains")) {
                assertTrue(err.msg.contains(needle as String), "$file: error `${err.msg}` lacks `$needle`")
            }
            return
        }
        Suite(file, suite, policy, tmp).use { s ->
            s.makeTokens(suite.optJSONObject("tokens") ?: JSONObject())
            var enforced = 0
            suite.optJSONArray("steps")?.forEachIndexed { i, step -> enforced += s.runStep(i, step as JSONObject) }
            // Enforced decisions left records (never more), and the chain verifies.
            s.act.flushAudit()
            verifyAuditLog(s.audit.toString())
            // Decision records only: alert records (`event`, e.g. breaker_opened) share the chain.
            val records = Files.readAllLines(s.audit).filter { it.isNotBlank() }
                .map { JSONObject(it) }.count { it.has("id") && !it.has("event") }
            assertTrue(records <= enforced && (records > 0 || enforced == 0), "${s.name}: $records records for $enforced decisions")
        }
    }

    private class Suite(file: String, suite: JSONObject, val policy: Path, tmp: Path) : AutoCloseable {
        val name = "$file: ${suite.optString("name", "?")}"
        val keys: Map<String, SigningKey> =
            (suite.optJSONObject("keys") ?: JSONObject()).toMap().mapValues { SigningKey.fromSeed(b64d(it.value as String)) }
        val clock = ManualClock(suite.optLong("now_ms", Fixtures.NOW_MS))
        val audit: Path = tmp.resolve("audit.jsonl")
        val act = Act(
            policyFile = policy.toString(),
            signingKey = suite.optString("signing_key", "").takeIf { it.isNotEmpty() }?.let { keys.getValue(it) },
            audience = if (suite.has("audience")) suite.getString("audience") else null,
            trustedKeys = (suite.optJSONArray("trusted") ?: JSONArray()).map { keys.getValue(it as String).publicKey() },
            auditFiles = listOf(audit.toString()),
            clock = clock,
        )
        val tokens = mutableMapOf<String, String>()
        val approvals = mutableMapOf<String, String>()

        override fun close() = act.close()

        /** The token a `delegate` or `tamper` spec is made from, if any. */
        private fun dependsOn(spec: JSONObject): String? =
            spec.optJSONObject("delegate")?.getString("parent") ?: spec.optJSONObject("tamper")?.getString("token")

        fun makeTokens(specs: JSONObject) {
            // Tokens may be made from other tokens: make them in dependency order.
            var todo = specs.keySet().map { it to specs.getJSONObject(it) }
            val ordered = mutableListOf<Pair<String, JSONObject>>()
            while (todo.isNotEmpty()) {
                val (ready, waiting) = todo.partition { (_, spec) -> dependsOn(spec)?.let { p -> ordered.any { it.first == p } } ?: true }
                assertTrue(ready.isNotEmpty(), "$name: tokens refer to missing tokens")
                ordered += ready
                todo = waiting
            }
            for ((tokenName, spec) in ordered) tokens[tokenName] = make(tokenName, spec)
        }

        private fun make(tokenName: String, spec: JSONObject): String = when {
            spec.has("raw") -> spec.getString("raw")
            spec.has("tamper") -> {
                // Re-encode the claims with a patch, keeping the original header and signature.
                val t = spec.getJSONObject("tamper")
                val parts = tokens.getValue(t.getString("token")).split(".")
                val claims = JSONObject(String(b64d(parts[1])))
                val patch = t.optJSONObject("claims_patch") ?: JSONObject()
                for (k in patch.keySet()) claims.put(k, patch.get(k))
                "${parts[0]}.${b64e(claims.toString().toByteArray())}.${parts[2]}"
            }
            spec.has("issue") -> {
                val i = spec.getJSONObject("issue")
                val issue = { a: Act ->
                    a.issueToken(
                        agent = i.getString("agent"),
                        userContext = toContext(i.optJSONObject("user_context")),
                        agentContext = toContext(i.optJSONObject("agent_context")),
                        policy = i.optJSONObject("policy")?.let { toContext(it) },
                        ttl = i.optLong("ttl", 3600),
                        holderKey = if (i.has("holder")) keys.getValue(i.getString("holder")).publicKey() else null,
                    )
                }
                if (i.has("signed_by")) {
                    // Another issuer with the same policies and its own key, not trusted by the suite.
                    Act(policyFile = policy.toString(), signingKey = keys.getValue(i.getString("signed_by")), clock = clock).use(issue)
                } else {
                    issue(act)
                }
            }
            spec.has("delegate") -> {
                val d = spec.getJSONObject("delegate")
                act.delegate(
                    token = tokens.getValue(d.getString("parent")),
                    holderKey = keys.getValue(d.getString("holder")),
                    agent = d.getString("agent"),
                    ttl = d.optLong("ttl", 600),
                    policy = d.optJSONObject("policy")?.let { toContext(it) },
                    agentContext = toContext(d.optJSONObject("agent_context")),
                    nextHolderKey = if (d.has("next_holder")) keys.getValue(d.getString("next_holder")).publicKey() else null,
                )
            }
            else -> throw AssertionError("$name: token `$tokenName` needs raw, tamper, issue or delegate")
        }

        /** Runs one step; returns how many enforced (audited) decisions it made. */
        fun runStep(i: Int, step: JSONObject): Int {
            val label = "$name step $i (${step.optString("name", "")})"
            if (step.has("advance_ms")) clock.advanceMs(step.getLong("advance_ms"))
            val token = if (step.has("token")) tokens.getValue(step.getString("token")) else step.optString("token_raw", "")
            val approval = if (step.has("approval")) approvals.getValue(step.getString("approval")) else null
            val context = toContext(step.optJSONObject("context"))
            val check = step.optString("mode", "validate") == "check"
            val repeat = step.optInt("repeat", 1)
            val e = step.getJSONObject("expect")
            for (n in 0 until repeat) {
                val at = if (repeat > 1) "$label #$n" else label
                val d = if (check) {
                    act.check(token, step.getString("action"), step.getString("resource"), context, approval)
                } else {
                    act.validate(token, step.getString("action"), step.getString("resource"), context, approval)
                }
                assertEquals(e.getString("outcome"), d.outcome.code, "$at: $d")
                assertEquals(e.getString("reason"), d.reason, "$at: $d")
                if (e.has("rule")) assertEquals(e.optString("rule", null), d.rule, "$at: rule")
                if (e.has("constraint")) assertEquals(e.optString("constraint", null), d.constraint, "$at: constraint")
                if (e.has("message_contains")) {
                    val m = e.getString("message_contains")
                    assertTrue(d.message.contains(m), "$at: message `${d.message}` lacks `$m`")
                }
                assertEquals(d.outcome == Outcome.APPROVAL_REQUIRED, d.approvalRequest != null, at)
                e.optJSONObject("approval_request")?.let { checkApprovalRequest(at, d.approvalRequest, it) }
                if (e.has("shadow")) checkShadow(at, d.shadow, e.get("shadow"))
                assertEquals(d.outcome == Outcome.ALLOW, d.allowed, at)
                if (step.has("approve_as")) {
                    val request = d.approvalRequest ?: throw AssertionError("$at: nothing to approve")
                    approvals[step.getString("approve_as")] = act.approve(request.id, "vector-approver", 600)
                }
            }
            return if (check) 0 else repeat
        }
    }

    companion object {
        /** `expect.approval_request` (tests/vectors/README.md); redacted fields checked by shape. */
        fun checkApprovalRequest(at: String, got: ApprovalRequest?, want: JSONObject) {
            val r = got ?: throw AssertionError("$at: no approval request")
            val redacted = want.optJSONArray("context_redacted")?.map { it as String } ?: emptyList()
            if (want.has("context")) {
                var pinned: Map<String, ContextValue> = r.context
                for (path in redacted) pinned = without(pinned, path.split("."))
                assertEquals(toContext(want.getJSONObject("context")), pinned, "$at: approval request context")
            }
            for (path in redacted) {
                var v: ContextValue? = ContextValue.Object(r.context)
                for (k in path.split(".")) v = (v as? ContextValue.Object)?.entries?.get(k)
                val text = (v as? ContextValue.Text)?.value
                assertTrue(text != null && text.startsWith("[redacted:"), "$at: $path shown as $v")
            }
            if (want.has("context_hash")) assertEquals(want.getString("context_hash"), r.contextHash, "$at: contextHash")
            want.optJSONArray("conditions")?.let { c ->
                val expected = c.map { (it as JSONObject).let { o -> o.getString("constraint") to o.getString("condition") } }
                assertEquals(expected, r.conditions.map { it.constraint to it.condition }, "$at: conditions")
            }
            want.optJSONArray("chain")?.let { c -> assertEquals(c.map { it as String }, r.chain, "$at: chain") }
        }

        private fun without(m: Map<String, ContextValue>, path: List<String>): Map<String, ContextValue> =
            if (path.size == 1) {
                m - path[0]
            } else {
                val inner = m[path[0]] as? ContextValue.Object ?: return m
                m + (path[0] to ContextValue.Object(without(inner.entries, path.drop(1))))
            }

        /** `expect.shadow`: null (no shadow evaluated) or the shadow's outcome, reason and rule. */
        fun checkShadow(at: String, got: ShadowOutcome?, want: Any) {
            if (want == JSONObject.NULL) {
                assertEquals(null, got, "$at: shadow")
                return
            }
            val w = want as JSONObject
            val s = got ?: throw AssertionError("$at: no shadow outcome")
            assertEquals(w.getString("outcome"), s.outcome.code, "$at: shadow outcome")
            assertEquals(w.getString("reason"), s.reason, "$at: shadow reason")
            if (w.has("rule")) assertEquals(w.optString("rule", null), s.rule, "$at: shadow rule")
        }

        fun b64d(s: String): ByteArray = Base64.getUrlDecoder().decode(s)
        fun b64e(b: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(b)

        /** A JSON object from a vector as a context map (absent: empty). */
        fun toContext(obj: JSONObject?): Map<String, ContextValue> =
            obj?.keySet()?.associateWith { fromJson(obj.get(it)) } ?: emptyMap()

        fun fromJson(v: Any?): ContextValue = when (v) {
            null, JSONObject.NULL -> ContextValue.Null
            is Boolean -> ContextValue.Bool(v)
            is Int -> ContextValue.Int(v.toLong())
            is Long -> ContextValue.Int(v)
            is BigInteger -> ContextValue.Int(v.longValueExact())
            is BigDecimal -> ContextValue.Double(v.toDouble())
            is Number -> ContextValue.Double(v.toDouble())
            is String -> ContextValue.Text(v)
            is JSONArray -> ContextValue.Array(v.map { fromJson(it) })
            is JSONObject -> ContextValue.Object(toContext(v))
            else -> throw AssertionError("unexpected JSON value $v (${v::class})")
        }
    }
}
