package act.sdk

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
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
                assertTrue(it.status().snapshotVersion > v1)
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

    private fun post(url: String, key: String, body: String): Int {
        val req = HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", "Bearer $key").header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build()
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).statusCode()
    }

    private fun get(url: String, key: String): String {
        val req = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer $key").GET().build()
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
    }

    @Test
    fun `an endpoint-mode agent mints through the endpoint, waits for a human and ships its audit`() {
        val policies = Files.createDirectories(tmp.resolve("policies"))
        Fixtures.policyFile(policies, name = "support.yaml")
        val controlKey = SigningKey.generate()
        val keyFile = tmp.resolve("control.pem")
        Files.writeString(keyFile, controlKey.toPem())
        val port = freePort()
        val base = "http://127.0.0.1:$port"
        val server = ProcessBuilder(
            actBinary().toString(), "serve", "--policy", policies.toString(), "--key", keyFile.toString(),
            "--addr", "127.0.0.1:$port", "--api-key", apiKey, "--issuer-api-key", "kt-issuer",
            "--approver-api-key", "kt-approver", "--admin-api-key", "kt-admin", "--poll-ms", "100",
        ).redirectErrorStream(true).redirectOutput(tmp.resolve("serve.log").toFile()).start()
        try {
            waitForPort(port, server)
            Act.connect(endpoint = base, trustKey = controlKey.publicKey(), apiKey = apiKey, issuerApiKey = "kt-issuer").use { act ->
                assertTrue(act.waitForSnapshot(10_000u) >= 1u)
                val token = act.issueToken(agent = "customer-support-bot", userContext = contextOf("user_id" to "42"), ttl = 600)
                val info = act.inspectToken(token)
                assertEquals("customer-support-bot", info.agent)
                assertEquals("42", info.subject)

                val pending = act.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to 300))
                assertEquals("approval_required", pending.reason)
                val handle = act.requestApproval(pending.approvalRequest!!)
                assertEquals(pending.approvalRequest!!.id, handle.id)
                val granter = Thread {
                    Thread.sleep(200)
                    post("$base/v1/approvals/${handle.id}/grant", "kt-approver", """{"reason":"verified"}""")
                }
                granter.start()
                val approval = act.waitForApproval(handle.id, 20_000u)
                granter.join()
                val ctx = contextOf("amount" to 300)
                assertEquals("approved", act.validate(token, "process_refund", Fixtures.ORDER, ctx, approval).reason)
                assertEquals("approval_replayed", act.validate(token, "process_refund", Fixtures.ORDER, ctx, approval).reason)

                val other = act.requestApproval(act.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to 250)).approvalRequest!!)
                post("$base/v1/approvals/${other.id}/deny", "kt-approver", """{"reason":"no receipt"}""")
                val denied = assertThrows(ActException.ApprovalDenied::class.java) { act.waitForApproval(other.id, 20_000u) }
                assertEquals("no receipt", denied.reason)
                assertEquals("approval_denied", denied.code)
                val late = act.requestApproval(act.validate(token, "process_refund", Fixtures.ORDER, contextOf("amount" to 260)).approvalRequest!!)
                assertThrows(ActException.ApprovalTimeout::class.java) { act.waitForApproval(late.id, 1_000u) }

                assertTrue(act.waitAuditDelivered(10_000u))
                val status = act.status()
                assertEquals(act.instanceId(), status.instanceId)
                assertEquals("endpoint", status.mode)
                val chains = get("$base/v1/audit/chains", "kt-admin")
                val ours = Regex("""\{[^{}]*"instance":"${act.instanceId()}"[^{}]*""").find(chains)?.value
                    ?: error("no chain for this instance: $chains")
                assertTrue(ours.contains("\"records\":${status.auditWritten}"), ours)
                assertTrue(ours.contains("\"gaps\":0") && ours.contains("\"forks\":0"), ours)
            }
        } finally {
            server.destroy() // this child, by its handle, never by name
            server.waitFor()
        }
    }

    @Test
    fun `the status record has exactly the core's fields`() {
        val fields = ActStatus::class.java.declaredFields.map { it.name }.filter { it != "Companion" }.toSet()
        val core = statusFields().map { f -> f.replace(Regex("_([a-z])")) { it.groupValues[1].uppercase() } }.toSet()
        assertEquals(core, fields)
    }
}
