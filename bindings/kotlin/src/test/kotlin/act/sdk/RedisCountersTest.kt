package act.sdk

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * `counters = "redis://..."` against a real redis-server on loopback (a random free port, no
 * persistence), started here and stopped through its own Process handle. Two Act instances stand
 * for two processes: they share one `maxPerDay: 5`.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedisCountersTest {
    @TempDir
    lateinit var tmp: Path

    private lateinit var redis: Process
    private var port = 0
    private val url get() = "redis://127.0.0.1:$port/"

    private fun redisServer(): String =
        System.getenv("PATH").orEmpty().split(File.pathSeparator)
            .map { File(it, "redis-server") }
            .firstOrNull { it.canExecute() }?.path
            ?: error("redis-server is not installed (scripts/test-all.sh installs it from Debian's packages)")

    @BeforeAll
    fun startRedis() {
        port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        redis = ProcessBuilder(
            redisServer(), "--port", "$port", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        ).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
        val deadline = System.currentTimeMillis() + 10_000
        while (true) {
            check(redis.isAlive) { "redis-server exited with ${redis.exitValue()}" }
            try {
                Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200) }
                return
            } catch (e: java.io.IOException) {
                check(System.currentTimeMillis() < deadline) { "redis-server did not start listening on $port" }
                Thread.sleep(20)
            }
        }
    }

    @AfterAll
    fun stopRedis() {
        if (!::redis.isInitialized) return
        redis.destroy() // this child, by its own handle (SIGTERM)
        if (!redis.waitFor(10, TimeUnit.SECONDS)) redis.destroyForcibly()
    }

    @Test
    fun `two Act instances share one maxPerDay of 5 through redis`() {
        val policy = Fixtures.policyFile(tmp).toString()
        val key = SigningKey.generate()
        Act(policyFile = policy, signingKey = key, counters = url).use { a ->
            Act(policyFile = policy, signingKey = key, counters = url).use { b ->
                val token = a.issueToken("customer-support-bot", contextOf("user_id" to "42"))
                val reasons = (0 until 8).map { i ->
                    val act = if (i % 2 == 0) a else b
                    act.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to 20)).reason
                }
                assertEquals(List(5) { "allowed" } + List(3) { "rate_limited" }, reasons)
                // The limit is per user: another user still has all five.
                val bob = b.issueToken("customer-support-bot", contextOf("user_id" to "7"))
                val bobOrder = "order://customer:7/1"
                assertEquals("allowed", a.validate(bob, "process_refund", bobOrder, contextOf("amount" to 20)).reason)
            }
        }
        // A third instance, started after the others closed, still sees the five used.
        Act(policyFile = policy, signingKey = key, counters = url).use { c ->
            val token = c.issueToken("customer-support-bot", contextOf("user_id" to "42"))
            assertEquals("rate_limited", c.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to 20)).reason)
        }
    }

    @Test
    fun `exactly five of many concurrent refunds pass across two instances`() {
        val policy = Fixtures.policyFile(tmp).toString()
        val key = SigningKey.generate()
        Act(policyFile = policy, signingKey = key, counters = url).use { a ->
            Act(policyFile = policy, signingKey = key, counters = url).use { b ->
                val token = a.issueToken("customer-support-bot", contextOf("user_id" to "99"))
                val order = "order://customer:99/1"
                val results = java.util.Collections.synchronizedList(mutableListOf<String>())
                val threads = (0 until 8).map { t ->
                    Thread {
                        val act = if (t % 2 == 0) a else b
                        repeat(5) { results += act.validate(token, "process_refund", order, contextOf("amount" to 10)).reason }
                    }.apply { start() }
                }
                threads.forEach { it.join(30_000) }
                assertEquals(40, results.size)
                assertEquals(5, results.count { it == "allowed" }, results.groupingBy { it }.eachCount().toString())
                assertEquals(35, results.count { it == "rate_limited" })
            }
        }
    }

    @Test
    fun `a bad counters URL is a clear error`() {
        val policy = Fixtures.policyFile(tmp).toString()
        val scheme = assertThrows<ActException.Config> { Act(policyFile = policy, counters = "mongodb://127.0.0.1/") }
        assertEquals("invalid_argument", scheme.code)
        assertTrue(scheme.msg.contains("redis://") && scheme.msg.contains("mongodb://"), scheme.msg)
        // A redis URL nobody answers: the store fails at construction, not at the first refund.
        val closedPort = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val down = assertThrows<ActException.Store> { Act(policyFile = policy, counters = "redis://127.0.0.1:$closedPort/") }
        assertEquals("counter_store_failed", down.code)
        assertTrue(down.msg.contains("redis"), down.msg)
        // A URL the redis client cannot parse.
        val garbled = assertThrows<ActException> { Act(policyFile = policy, counters = "redis://[::1") }
        assertTrue(garbled.code == "invalid_argument" || garbled.code == "counter_store_failed", garbled.msg)
        // "memory" (and nothing) keep the per-process store.
        Act(policyFile = policy, counters = "memory").close()
    }
}
