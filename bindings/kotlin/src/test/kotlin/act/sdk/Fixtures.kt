package act.sdk

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths

/** Shared test data: the article's customer-support policy and a clock start. */
object Fixtures {
    const val NOW_MS = 1_800_000_000_000L
    const val ORDER = "order://customer:42/1001"

    /** The article's customer-support policy, as written (re-indented only). */
    val ARTICLE_POLICY = """
        agent: customer-support-bot
        policy:
          actions:
            - read_order
            - process_refund
          resources:
            - "order://customer:{{authenticated_user_id}}/*"
          constraints:
            refunds:
              maxAmount: 500
              maxPerDay: 5
              requireSecondApproval: amount > 100
            orders:
              onlyOwnOrders: true
              maxRowsPerQuery: 50
            audit:
              logAllActions: true
              retainFor: 90days
    """.trimIndent() + "\n"

    val vectorsDir: Path = Paths.get(System.getProperty("act.vectors.dir") ?: "../../tests/vectors")

    fun policyFile(dir: Path, text: String = ARTICLE_POLICY, name: String = "policies.yaml"): Path {
        val path = dir.resolve(name)
        Files.writeString(path, text)
        return path
    }
}
