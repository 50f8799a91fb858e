import act.sdk.Act
import act.sdk.SigningKey
import act.sdk.code
import act.sdk.contextOf
import java.nio.file.Files
import java.nio.file.Path
import kotlin.system.exitProcess

/**
 * A consumer of the installed act-sdk-kotlin jar: no -Djna.library.path, no Rust; JNA extracts the
 * native library from the jar's linux-x86-64/ (or linux-aarch64/) folder. One decision on the
 * policy file given as the first argument (default: examples/customer_support/policies.yaml).
 */
fun main(args: Array<String>) {
    val policy = Path.of(args.getOrElse(0) { "../../examples/customer_support/policies.yaml" })
    require(Files.isRegularFile(policy)) { "sample: no policy file at $policy" }
    Act(policyFile = policy.toString(), signingKey = SigningKey.generate()).use { act ->
        val token = act.issueToken(
            agent = "customer-support-bot",
            userContext = contextOf("user_id" to "42", "roles" to listOf("customer")),
            ttl = 3600,
        )
        val small = act.validate(token, "process_refund", "order://customer:42/1001", contextOf("amount" to 80))
        val large = act.validate(token, "process_refund", "order://customer:42/1001", contextOf("amount" to 600))
        println("sample: refund 80 -> ${small.outcome.code} (${small.reason}); refund 600 -> ${large.outcome.code} (${large.reason})")
        if (!small.allowed || large.allowed) {
            System.err.println("sample: unexpected decisions")
            exitProcess(1)
        }
    }
}
