package act.sdk

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths

/** Kotlin against a real `act serve` on loopback: a policy change reaches a running client within 2 s. */
class ControlEndpointTest {
    @TempDir
    lateinit var tmp: Path

    private val apiKey = "kotlin-test-api-key"

    private fun actBinary(): Path {
        val candidates = listOfNotNull(
            System.getProperty("act.bin")?.takeIf { it.isNotEmpty() },
            System.getenv("ACT_BIN"),
        ).map { Paths.get(it) } + Paths.get(System.getProperty("act.native.dir", "../../target/release"), "..", "debug", "act")
        return candidates.firstOrNull { Files.isRegularFile(it) }
            ?: error("the `act` binary is not built; run_kotlin_tests.sh builds it (cargo build -p act-cli)")
    }

    private fun freePort(): Int = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }

    private fun waitForPort(port: Int, process: Process) {
        val deadline = System.currentTimeMillis() + 20_000
        while (System.currentTimeMillis() < deadline) {
            check(process.isAlive) { "act serve exited with ${process.exitValue()}" }
            try {
                Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200) }
                return
            } catch (e: java.io.IOException) {
                Thread.sleep(50)
            }
        }
        error("act serve did not start listening")
    }

    private fun refund(act: Act, token: String, amount: Int): String =
        act.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to amount)).reason

    @Test
    fun `a policy change through act serve reaches a running client within 2 s`() {
        val policies = Files.createDirectories(tmp.resolve("policies"))
        Fixtures.policyFile(policies, name = "support.yaml")
        val controlKey = SigningKey.generate()
        val keyFile = tmp.resolve("control.pem")
        Files.writeString(keyFile, controlKey.toPem())
        val port = freePort()
        val server = ProcessBuilder(
            actBinary().toString(), "serve", "--policy", policies.toString(), "--key", keyFile.toString(),
            "--addr", "127.0.0.1:$port", "--api-key", apiKey, "--poll-ms", "100",
        ).redirectErrorStream(true).redirectOutput(tmp.resolve("serve.log").toFile()).start()
        try {
            waitForPort(port, server)
            val issuerKey = SigningKey.generate()
            val issuer = Act(policyFile = policies.toString(), signingKey = issuerKey)
            val token = issuer.issueToken(agent = "customer-support-bot", userContext = contextOf("user_id" to "42"), ttl = 3600)
            val act = Act.connect(
                endpoint = "http://127.0.0.1:$port",
                trustKey = controlKey.publicKey(),
                apiKey = apiKey,
                cacheDir = tmp.resolve("cache").toString(),
                trustedKeys = listOf(issuerKey.publicKey()),
            )
            act.use {
                val v1 = it.waitForSnapshot(10_000u)
                assertTrue(v1 >= 1u, "no snapshot: ${it.status()}")
                assertEquals("approval_required", refund(it, token, 300))
                Files.writeString(policies.resolve("support.yaml"), Fixtures.ARTICLE_POLICY.replace("maxAmount: 500", "maxAmount: 200"))
                val start = System.currentTimeMillis()
                while (refund(it, token, 300) != "constraint_failed") {
                    assertTrue(System.currentTimeMillis() - start < 2_000, "no change after 2 s: ${it.status()}")
                    Thread.sleep(20)
                }
                assertTrue(it.status().snapshotVersion!! > v1)
            }
            issuer.close()
        } finally {
            server.destroy() // this child, by its handle, never by name
            server.waitFor()
        }
    }

    @Test
    fun `without a snapshot the client fails closed`() {
        val key = SigningKey.generate()
        Act.connect(endpoint = "http://127.0.0.1:${freePort()}", trustKey = key.publicKey(), apiKey = apiKey).use { act ->
            assertEquals(0uL, act.waitForSnapshot(300u))
            val issuer = Act(policyFile = Fixtures.policyFile(tmp).toString(), signingKey = key)
            val token = issuer.issueToken(agent = "customer-support-bot", userContext = contextOf("user_id" to "42"), ttl = 3600)
            assertEquals("no_snapshot", refund(act, token, 10))
            issuer.close()
        }
    }
}
