// Hand-written (not generated): the fields every ActException variant shares.
package act.sdk

/** The stable machine code of any [ActException], e.g. `policy_invalid`, `invalid_argument`. */
val ActException.code: String
    get() = when (this) {
        is ActException.Policy -> code
        is ActException.Token -> code
        is ActException.Key -> code
        is ActException.Config -> code
        is ActException.Snapshot -> code
        is ActException.Store -> code
        is ActException.Endpoint -> code
        is ActException.ApprovalDenied -> code
        is ActException.ApprovalTimeout -> code
        is ActException.Io -> code
        is ActException.Audit -> code
        is ActException.Internal -> code
    }

/** The human sentence of any [ActException] (for a policy, every diagnostic, one per line). */
val ActException.msg: String
    get() = when (this) {
        is ActException.Policy -> msg
        is ActException.Token -> msg
        is ActException.Key -> msg
        is ActException.Config -> msg
        is ActException.Snapshot -> msg
        is ActException.Store -> msg
        is ActException.Endpoint -> msg
        is ActException.ApprovalDenied -> msg
        is ActException.ApprovalTimeout -> msg
        is ActException.Io -> msg
        is ActException.Audit -> msg
        is ActException.Internal -> msg
    }
