// Hand-written (not generated): builds ContextValue maps from plain Kotlin values.
// Conversion only; every rule lives in the Rust core.
package act.sdk

/**
 * Converts a plain Kotlin value to a [ContextValue]: `null`, [Boolean], whole numbers
 * ([Int], [Long], [Short], [Byte]), [Float]/[Double], [String], a [Map] with [String] keys,
 * a [Collection] or [Array], or a [ContextValue] as is.
 *
 * @throws IllegalArgumentException for any other type (naming where it sits).
 */
fun contextValueOf(value: Any?): ContextValue = convert(value, "value")

/** A context map from pairs: `contextOf("amount" to 120, "currency" to "EUR")`. */
fun contextOf(vararg pairs: Pair<String, Any?>): Map<String, ContextValue> =
    pairs.associate { (k, v) -> k to convert(v, "context[\"$k\"]") }

/** This map as a context map (see [contextValueOf] for the value types taken). */
fun Map<String, Any?>.toContext(): Map<String, ContextValue> =
    entries.associate { (k, v) -> k to convert(v, "context[\"$k\"]") }

/** The plain Kotlin value of this [ContextValue] (`Long`, `Double`, `String`, `List`, `Map`, ...). */
fun ContextValue.toKotlin(): Any? = when (this) {
    is ContextValue.Null -> null
    is ContextValue.Bool -> value
    is ContextValue.Int -> value
    is ContextValue.Double -> value
    is ContextValue.Text -> value
    is ContextValue.Array -> items.map { it.toKotlin() }
    is ContextValue.Object -> entries.mapValues { it.value.toKotlin() }
}

/** The stable code of this outcome: `"allow"`, `"deny"` or `"approval_required"`. */
val Outcome.code: String get() = outcomeCode(this)

private fun convert(value: Any?, path: String): ContextValue = when (value) {
    null -> ContextValue.Null
    is ContextValue -> value
    is Boolean -> ContextValue.Bool(value)
    is Int -> ContextValue.Int(value.toLong())
    is Long -> ContextValue.Int(value)
    is Short -> ContextValue.Int(value.toLong())
    is Byte -> ContextValue.Int(value.toLong())
    is Float -> ContextValue.Double(value.toDouble())
    is Double -> ContextValue.Double(value)
    is String -> ContextValue.Text(value)
    is Map<*, *> -> ContextValue.Object(
        value.entries.associate { (k, v) ->
            val key = k as? String
                ?: throw IllegalArgumentException("$path has a key of type ${k?.let { it::class.qualifiedName }}; keys must be strings")
            key to convert(v, "$path[\"$key\"]")
        },
    )
    is Collection<*> -> ContextValue.Array(value.mapIndexed { i, v -> convert(v, "$path[$i]") })
    is Array<*> -> ContextValue.Array(value.mapIndexed { i, v -> convert(v, "$path[$i]") })
    else -> throw IllegalArgumentException(
        "$path is a ${value::class.qualifiedName}; ACT takes JSON values: " +
            "null, Boolean, Int, Long, Double, String, Map<String, *>, List",
    )
}
