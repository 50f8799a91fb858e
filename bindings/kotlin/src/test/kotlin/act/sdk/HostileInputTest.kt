package act.sdk

import act.sdk.Fixtures.ORDER
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.fail
import org.junit.jupiter.api.io.TempDir
import java.lang.reflect.InvocationTargetException
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import java.nio.charset.CharacterCodingException
import java.nio.file.Path

/**
 * Every exported function, constructor and method of the Kotlin binding under hostile input.
 *
 * The surface is enumerated by reflection (the generated `*Interface` types, the companions'
 * constructors, the top-level functions of the generated and hand-written files); a new export
 * without cases in [cases] fails [everyExportHasHostileCases].
 *
 * Allowed results (README "Bad input"): a return (a Decision for hostile agent input is never
 * ALLOW), an [ActException] other than Internal, [CharacterCodingException] for a String with an
 * unpaired surrogate (thrown by the generated lowering before Rust is called), [IllegalArgumentException]
 * from the hand-written helpers, [NullPointerException] for a null where Kotlin says non-null (through
 * Java or reflection), and [StackOverflowError] only for a ContextValue nested deeper than the
 * calling thread's stack can lower. Never a JVM crash.
 *
 * Not run here: a *closed* SigningKey, VerifyingKey or ManualClock passed as an argument. uniffi
 * 0.32's generated `FfiConverterType*.lower()` calls `uniffiCloneHandle()` without the destroyed check
 * that method calls have, so Rust clones an Arc from freed memory: a use-after-free that crashed this
 * suite's JVM ("malloc(): unaligned tcache chunk detected", or an allocation of 3.4e18 bytes).
 * README.md ("Bad input") tells users never to pass a closed object; the fix belongs in uniffi.
 */
class HostileInputTest {
    @TempDir
    lateinit var tmp: Path

    private lateinit var key: SigningKey
    private lateinit var holder: SigningKey
    private lateinit var act: Act
    private lateinit var alice: String
    private lateinit var parent: String
    private lateinit var requestId: String
    private lateinit var pendingRequest: ApprovalRequest

    @BeforeEach
    fun world() {
        key = SigningKey.generate()
        holder = SigningKey.generate()
        act = Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = key, clock = ManualClock(Fixtures.NOW_MS))
        alice = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), ttl = 3600)
        parent = act.issueToken("customer-support-bot", contextOf("user_id" to "42"), holderKey = holder.publicKey())
        val pending = act.check(alice, "process_refund", ORDER, contextOf("amount" to 200))
        assertEquals(Outcome.APPROVAL_REQUIRED, pending.outcome)
        requestId = pending.approvalRequest!!.id
        pendingRequest = pending.approvalRequest!!
    }

    @AfterEach
    fun close() = act.close()

    // ---- hostile values ----

    private val huge = "x".repeat(16 shl 20)
    private val strings = linkedMapOf(
        "16MiB" to huge,
        "unpaired high surrogate" to "\uD800",
        "unpaired low surrogate" to "x\uDC00",
        "NUL inside" to "a\u0000b",
        "empty" to "",
        "whitespace" to " \t\n",
        "deep JSON" to "[".repeat(10_000) + "]".repeat(10_000),
    )
    private val longs = linkedMapOf("Long.MAX_VALUE" to Long.MAX_VALUE, "Long.MIN_VALUE" to Long.MIN_VALUE, "0" to 0L, "-1" to -1L)
    private val bytes = linkedMapOf("16MiB" to ByteArray(16 shl 20) { -1 }, "empty" to ByteArray(0), "31 bytes" to ByteArray(31))

    private fun nested(depth: Int, obj: Boolean): ContextValue {
        var v: ContextValue = ContextValue.Null
        repeat(depth) { v = if (obj) ContextValue.Object(mapOf("a" to v)) else ContextValue.Array(listOf(v)) }
        return v
    }

    private val hostileValues: Map<String, ContextValue> = linkedMapOf(
        "NaN" to ContextValue.Double(Double.NaN),
        "Infinity" to ContextValue.Double(Double.POSITIVE_INFINITY),
        "-Infinity" to ContextValue.Double(Double.NEGATIVE_INFINITY),
        "-0.0" to ContextValue.Double(-0.0),
        "Long.MAX_VALUE" to ContextValue.Int(Long.MAX_VALUE),
        "Long.MIN_VALUE" to ContextValue.Int(Long.MIN_VALUE),
        "16MiB text" to ContextValue.Text(huge),
        "NUL text" to ContextValue.Text("a\u0000b"),
        "unpaired surrogate text" to ContextValue.Text("\uD800"),
        "null" to ContextValue.Null,
        "bool" to ContextValue.Bool(true),
        "depth-1000 array" to nested(1_000, obj = false),
        "depth-1000 object" to nested(1_000, obj = true),
        "16Ki-item array" to ContextValue.Array(List(16_384) { ContextValue.Int(it.toLong()) }),
    )

    /** Hostile maps: each value under the key `amount` (read by a condition) and `note` (read by none), and odd keys. */
    private fun maps(base: Map<String, ContextValue>): Map<String, Map<String, ContextValue>> = buildMap {
        for ((name, v) in hostileValues) {
            put("amount=$name", base + ("amount" to v))
            put("note=$name", base + ("note" to v))
        }
        put("unpaired surrogate key", base + ("\uDC00" to ContextValue.Int(1)))
        put("16MiB key", base + (huge to ContextValue.Int(1)))
        put("empty", emptyMap())
    }

    // ---- outcomes ----

    private var calls = 0

    /** Runs one hostile call and checks the result against the contract. */
    private fun run(label: String, mayAllow: Boolean = false, block: () -> Any?) {
        calls++
        val result = try {
            block()
        } catch (e: ActException) {
            assertTrue(e !is ActException.Internal, "$label: a bug surfaced as Internal: ${e.msg}")
            assertTrue(e.code.isNotEmpty() && e.msg.isNotEmpty(), label)
            return
        } catch (e: CharacterCodingException) {
            assertTrue(label.contains("surrogate"), "$label: ${e::class.qualifiedName} for text without a surrogate")
            return
        } catch (e: IllegalArgumentException) {
            return
        } catch (e: Throwable) {
            fail("$label: ${e::class.qualifiedName} leaked: ${e.message?.take(300)}", e)
        }
        if (result is Decision && !mayAllow) {
            assertNotEquals(Outcome.ALLOW, result.outcome, "$label: allowed ($result)")
        }
        if (result is AutoCloseable) result.close()
    }

    private fun decide(name: String, call: (String, String, String, Map<String, ContextValue>, String?) -> Decision) {
        val ctx = contextOf("amount" to 200)
        for ((n, s) in strings) {
            run("$name(token=$n)") { call(s, "process_refund", ORDER, ctx, null) }
            run("$name(action=$n)") { call(alice, s, ORDER, ctx, null) }
            run("$name(resource=$n)") { call(alice, "process_refund", s, ctx, null) }
            run("$name(resource=order prefix + $n)") { call(alice, "process_refund", "order://customer:42/$s", ctx, null) }
            run("$name(approval=$n)") { call(alice, "process_refund", ORDER, ctx, s) }
        }
        for ((n, m) in maps(emptyMap())) {
            // An ordinary number where the amount goes, or anything where no condition reads, may allow.
            // (-0.0 is zero; a negative amount is refused by `maxAmount`'s lower bound.)
            val mayAllow = n.startsWith("note=") || n == "amount=-0.0"
            run("$name(context $n)", mayAllow) { call(alice, "process_refund", ORDER, if (n.startsWith("note=")) m + ("amount" to ContextValue.Int(20)) else m, null) }
        }
    }

    private fun eachString(name: String, block: (String) -> Any?) {
        for ((n, s) in strings) run("$name($n)") { block(s) }
    }

    private fun eachLong(name: String, block: (Long) -> Any?) {
        for ((n, l) in longs) run("$name($n)") { block(l) }
    }

    private val policyFile get() = tmp.resolve("policies.yaml").toString()

    /** Every exported name -> its hostile calls. */
    private fun cases(): Map<String, () -> Unit> = mapOf(
        "Act.<init>" to {
            eachString("Act(policyFile)") { Act(policyFile = it) }
            eachString("Act(audience)") { Act(policyFile = policyFile, audience = it) }
            eachString("Act(issuer)") { Act(policyFile = policyFile, issuer = it) }
            eachString("Act(auditFiles)") { Act(policyFile = policyFile, auditFiles = listOf(tmp.resolve("a").toString() + it)) }
            eachString("Act(counters)") { Act(policyFile = policyFile, counters = it) }
            eachString("Act(counters=redis://+)") { Act(policyFile = policyFile, counters = "redis://$it") }
            eachLong("Act(leeway)") { Act(policyFile = policyFile, leeway = it) }
            for (text in listOf("agent: a\npolicy:\n  actions: " + "[".repeat(10_000), "{\"agent\": " + "[".repeat(10_000), "\u0000", huge)) {
                val f = tmp.resolve("hostile-${calls}.yaml").toFile().apply { writeText(text) }
                run("Act(policy file of ${text.length} chars)") { Act(policyFile = f.path) }
            }
        },
        "Act.connect" to {
            val port = java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
            val endpoint = "http://127.0.0.1:$port"
            eachString("connect(endpoint)") { Act.connect(endpoint = it, trustKey = key.publicKey()) }
            eachString("connect(apiKey)") { Act.connect(endpoint = endpoint, trustKey = key.publicKey(), apiKey = it) }
            eachString("connect(cacheDir)") { Act.connect(endpoint = endpoint, trustKey = key.publicKey(), cacheDir = tmp.resolve("c").toString() + it) }
            eachString("connect(auditFiles)") { Act.connect(endpoint = endpoint, trustKey = key.publicKey(), auditFiles = listOf(tmp.resolve("b").toString() + it)) }
            eachString("connect(counters)") { Act.connect(endpoint = endpoint, trustKey = key.publicKey(), counters = it) }
        },
        "Act.validate" to { decide("validate") { t, a, r, c, ap -> act.validate(t, a, r, c, ap) } },
        "Act.check" to { decide("check") { t, a, r, c, ap -> act.check(t, a, r, c, ap) } },
        "Act.explain" to { decide("explain") { t, a, r, c, ap -> act.explain(t, a, r, c, ap) } },
        "Act.issueToken" to {
            val ok = contextOf("user_id" to "42")
            eachString("issueToken(agent)") { act.issueToken(it, ok) }
            eachLong("issueToken(ttl)") { act.issueToken("customer-support-bot", ok, ttl = it) }
            for ((n, m) in maps(ok)) {
                run("issueToken(userContext $n)") { act.issueToken("customer-support-bot", m) }
                run("issueToken(agentContext $n)") { act.issueToken("customer-support-bot", ok, agentContext = m) }
                run("issueToken(policy $n)") { act.issueToken("customer-support-bot", ok, policy = m) }
            }
            for ((n, v) in hostileValues) run("issueToken(user_id=$n)") { act.issueToken("customer-support-bot", mapOf("user_id" to v)) }
        },
        "Act.delegate" to {
            eachString("delegate(token)") { act.delegate(it, holder, "sub", 60) }
            eachString("delegate(agent)") { act.delegate(parent, holder, it, 60) }
            eachLong("delegate(ttl)") { act.delegate(parent, holder, "sub", it) }
            for ((n, m) in maps(emptyMap())) {
                run("delegate(policy $n)") { act.delegate(parent, holder, "sub", 60, policy = m) }
                run("delegate(agentContext $n)") { act.delegate(parent, holder, "sub", 60, agentContext = m) }
            }
        },
        "Act.seal" to {
            eachString("seal(token)") { act.seal(it, holder, 60) }
            eachLong("seal(ttl)") { act.seal(parent, holder, it) }
        },
        "Act.approve" to {
            eachString("approve(requestId)") { act.approve(it, "supervisor", 60) }
            eachString("approve(approver)") { act.approve(requestId, it, 60) }
            eachLong("approve(ttl)") { act.approve(requestId, "supervisor", it) }
        },
        "Act.waitForSnapshot" to { for (ms in listOf(0uL, 1uL, ULong.MAX_VALUE)) run("waitForSnapshot($ms)") { act.waitForSnapshot(ms) } },
        "Act.reload" to { run("reload()") { act.reload() } },
        "Act.flushAudit" to { run("flushAudit()") { act.flushAudit() } },
        "Act.status" to { run("status()") { act.status() } },
        "Act.publicKey" to { run("publicKey()") { act.publicKey() } },
        "Act.instanceId" to { run("instanceId()") { act.instanceId() } },
        "Act.inspectToken" to { eachString("inspectToken") { act.inspectToken(it) } },
        "Act.requestApproval" to {
            val req = pendingRequest
            eachString("requestApproval(id)") { act.requestApproval(req.copy(id = it)) }
            eachString("requestApproval(context)") { act.requestApproval(req.copy(context = mapOf(it to ContextValue.Text(it)))) }
            eachString("requestApproval(chain)") { act.requestApproval(req.copy(chain = listOf(it))) }
        },
        "Act.waitForApproval" to {
            eachString("waitForApproval(id)") { act.waitForApproval(it, 10uL) }
            for (ms in listOf(0uL, 1uL, ULong.MAX_VALUE)) run("waitForApproval($ms)") { act.waitForApproval(requestId, ms) }
        },
        "Act.waitAuditDelivered" to {
            for (ms in listOf(0uL, 1uL, ULong.MAX_VALUE)) run("waitAuditDelivered($ms)") { act.waitAuditDelivered(ms) }
        },
        "statusFields" to { run("statusFields()") { statusFields() } },
        "SigningKey.generate" to { run("generate()") { SigningKey.generate() } },
        "SigningKey.fromSeed" to { for ((n, b) in bytes) run("fromSeed($n)") { SigningKey.fromSeed(b) } },
        "SigningKey.fromPem" to { eachString("fromPem") { SigningKey.fromPem(it) } },
        "SigningKey.fromJwk" to { eachString("fromJwk") { SigningKey.fromJwk(it) } },
        "SigningKey.toPem" to { run("toPem()") { key.toPem() } },
        "SigningKey.toJwk" to { run("toJwk()") { key.toJwk() } },
        "SigningKey.publicKey" to { run("publicKey()") { key.publicKey() } },
        "SigningKey.kid" to { run("kid()") { key.kid() } },
        "VerifyingKey.parse" to { eachString("parse") { VerifyingKey.parse(it) } },
        "VerifyingKey.fromJwk" to { eachString("VerifyingKey.fromJwk") { VerifyingKey.fromJwk(it) } },
        "VerifyingKey.fromBytes" to { for ((n, b) in bytes) run("fromBytes($n)") { VerifyingKey.fromBytes(b) } },
        "VerifyingKey.toJwk" to { run("toJwk()") { key.publicKey().toJwk() } },
        "VerifyingKey.toBytes" to { run("toBytes()") { key.publicKey().toBytes() } },
        "VerifyingKey.kid" to { run("kid()") { key.publicKey().kid() } },
        "VerifyingKey.verify" to {
            for ((n, b) in bytes) {
                run("verify(message=$n)") { assertEquals(false, key.publicKey().verify(b, ByteArray(64))) }
                run("verify(signature=$n)") { assertEquals(false, key.publicKey().verify("m".toByteArray(), b)) }
            }
        },
        "ManualClock.<init>" to { eachLong("ManualClock") { ManualClock(it) } },
        "ManualClock.setMs" to { eachLong("setMs") { ManualClock(0).setMs(it) } },
        "ManualClock.advanceMs" to { eachLong("advanceMs") { ManualClock(Long.MAX_VALUE).apply { advanceMs(it) }.nowMs() } },
        "ManualClock.nowMs" to { run("nowMs()") { ManualClock(Long.MIN_VALUE).nowMs() } },
        "actVersion" to { run("actVersion()") { actVersion() } },
        "genesisHash" to { run("genesisHash()") { genesisHash() } },
        "reasonCodes" to { run("reasonCodes()") { reasonCodes() } },
        "panicForTests" to { /* its own test below: the one call allowed to be Internal */ },
        "verifyAuditLog" to {
            eachString("verifyAuditLog(path)") { verifyAuditLog(it) }
            val empty = tmp.resolve("empty.jsonl").toFile().apply { writeText("") }.path
            eachString("verifyAuditLog(startHash)") { verifyAuditLog(empty, it) }
            val junk = tmp.resolve("junk.jsonl").toFile().apply { writeText(huge + "\n" + "[".repeat(10_000)) }.path
            run("verifyAuditLog(16MiB junk line)") { verifyAuditLog(junk) }
        },
        "outcomeCode" to { for (o in Outcome.entries) run("outcomeCode($o)") { outcomeCode(o) } },
        "contextFromJson" to { eachString("contextFromJson") { contextFromJson(it) } },
        "contextToJson" to { for ((n, m) in maps(emptyMap())) run("contextToJson($n)") { contextToJson(m) } },
        "contextValueOf" to {
            for (v in listOf(Double.NaN, Any(), listOf(Any()), mapOf(1 to 2), huge, ByteArray(3), 'c', 1.toBigInteger().shiftLeft(70))) {
                run("contextValueOf(${v::class.simpleName})") { contextValueOf(v) }
            }
        },
        "contextOf" to { run("contextOf(Any)") { contextOf("a" to Any(), "b" to Double.NaN) } },
        "toContext" to { run("toContext(Any)") { mapOf("a" to Thread()).toContext() } },
        "toKotlin" to { for ((n, v) in hostileValues) run("toKotlin($n)") { v.toKotlin() } },
        "getCode" to { run("Outcome.code") { Outcome.DENY.code }; run("ActException.code") { ActException.Config("c", "m").code } },
        "getMsg" to { run("ActException.msg") { ActException.Internal("internal", "m").msg } },
    )

    // ---- the enumeration ----

    private fun jvmName(m: Method) = m.name.substringBefore('-')

    private fun exportedSurface(): Set<String> = buildSet {
        val objects = mapOf(
            "Act" to ActInterface::class.java, "SigningKey" to SigningKeyInterface::class.java,
            "VerifyingKey" to VerifyingKeyInterface::class.java, "ManualClock" to ManualClockInterface::class.java,
        )
        for ((name, iface) in objects) {
            iface.declaredMethods.filter { Modifier.isAbstract(it.modifiers) }.forEach { add("$name.${jvmName(it)}") }
        }
        for ((name, companion) in mapOf(
            "Act" to Act.Companion::class.java, "SigningKey" to SigningKey.Companion::class.java,
            "VerifyingKey" to VerifyingKey.Companion::class.java, "ManualClock" to ManualClock.Companion::class.java,
        )) {
            companion.declaredMethods.filter { Modifier.isPublic(it.modifiers) && !it.isSynthetic && !it.name.endsWith("\$default") }
                .forEach { add("$name.${jvmName(it)}") }
        }
        for ((name, cls) in mapOf("Act" to Act::class.java, "ManualClock" to ManualClock::class.java)) {
            val userConstructors = cls.constructors.filter { c ->
                c.parameterTypes.none { it.name.startsWith("act.sdk.Uniffi") || it.name == "act.sdk.NoHandle" || it.name.startsWith("kotlin.jvm.internal") }
            }
            if (userConstructors.isNotEmpty()) add("$name.<init>")
        }
        for (file in listOf("act.sdk.Act_uniffiKt", "act.sdk.ContextValuesKt", "act.sdk.ErrorsKt")) {
            Class.forName(file).declaredMethods.filter {
                Modifier.isPublic(it.modifiers) && Modifier.isStatic(it.modifiers) && !it.isSynthetic &&
                    !it.name.startsWith("uniffi") && !it.name.startsWith("access$") && !it.name.endsWith("\$default") && it.name != "use"
            }.forEach { add(jvmName(it)) }
        }
    }

    @Test
    fun everyExportHasHostileCases() {
        val surface = exportedSurface()
        assertTrue("Act.validate" in surface && "SigningKey.fromSeed" in surface && "contextFromJson" in surface, surface.toString())
        val cases = cases()
        assertEquals(emptyList<String>(), (surface - cases.keys).sorted(), "exported without hostile cases in HostileInputTest")
        assertEquals(emptyList<String>(), (cases.keys - surface).sorted(), "cases for names no longer exported")
    }

    @Test
    fun hostileValuesInEveryParameter() {
        for ((name, body) in cases()) {
            val before = calls
            body()
            assertTrue(calls > before || name == "panicForTests", "$name ran no hostile call")
        }
        assertTrue(calls > 500, "only $calls hostile calls")
    }

    @Test
    fun aNullWhereKotlinSaysNonNullIsANullPointerExceptionBeforeRustIsCalled() {
        // Java callers (or reflection) can pass null anywhere: Kotlin's own parameter checks refuse it.
        var checked = 0
        for (m in ActInterface::class.java.declaredMethods.filter { Modifier.isAbstract(it.modifiers) }) {
            val types = m.parameterTypes
            for (i in types.indices) {
                if (types[i].isPrimitive) continue
                val args = arrayOfNulls<Any>(types.size)
                for (j in types.indices) args[j] = if (types[j] == Long::class.javaPrimitiveType) 60L else null
                val e = try {
                    m.invoke(act, *args)
                    null
                } catch (e: InvocationTargetException) {
                    e.targetException
                }
                // Nullable parameters (approval, policy...) may take null; others refuse it by name.
                if (e != null) {
                    assertTrue(e is NullPointerException || e is ActException, "${m.name}(null at $i): ${e::class.qualifiedName}: ${e.message}")
                    assertTrue(e !is ActException.Internal, "${m.name}: ${e.message}")
                }
                checked++
            }
        }
        assertTrue(checked >= 10, "checked $checked parameters")
    }

    @Test
    fun deepNestingIsConfigOnABigStackAndNeverCrashesTheJvm() {
        // On the test thread the generated Kotlin lowering may run out of stack first (StackOverflowError,
        // before any native code runs); on a 256 MiB thread the value reaches Rust, which lifts it
        // 10000 levels deep and refuses it past 64 with ActException.Config.
        for (obj in listOf(false, true)) {
            val deep = mapOf("deep" to nested(10_000, obj))
            try {
                contextToJson(deep)
                fail("depth 10000 was accepted")
            } catch (e: ActException.Config) {
                assertTrue(e.msg.contains("deeper than 64"), e.msg)
            } catch (e: StackOverflowError) {
                // the documented limit of the caller's stack
            }
            var outcome: Throwable? = null
            val t = Thread(null, {
                outcome = try {
                    act.validate(alice, "process_refund", ORDER, deep)
                    null
                } catch (e: Throwable) {
                    e
                }
            }, "deep", 256L shl 20)
            t.start()
            t.join()
            assertTrue(outcome is ActException.Config, "depth 10000 on a big stack: $outcome")
        }
    }

    @Test
    fun unpairedSurrogatesAreRefusedBeforeRustNeverDecidedAsReplacementText() {
        for (s in listOf("\uD800", "a\uDC00", "order://customer:42/\uD800")) {
            org.junit.jupiter.api.assertThrows<CharacterCodingException> { act.validate(alice, "read_order", s) }
            org.junit.jupiter.api.assertThrows<CharacterCodingException> { act.validate(s, "read_order", ORDER) }
        }
        // A well-formed pair is ordinary text.
        assertEquals(Outcome.ALLOW, act.validate(alice, "process_refund", "order://customer:42/\uD83D\uDE00", contextOf("amount" to 20)).outcome)
    }

    @Test
    fun aDeliberatePanicInTheCoreIsActExceptionInternal() {
        val e = org.junit.jupiter.api.assertThrows<ActException.Internal> { panicForTests() }
        assertEquals("internal", e.code)
        assertTrue(e.msg.contains("deliberate panic"), e.msg)
        assertEquals(Outcome.ALLOW, act.validate(alice, "process_refund", ORDER, contextOf("amount" to 20)).outcome)
    }
}
