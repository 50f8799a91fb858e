// Hand-written (not generated): what every ActError case shares, context literals, outcome codes.
// Conversion only; every rule lives in the Rust core.
import Foundation

public extension ActError {
    /// The stable machine code of any `ActError`, e.g. `policy_invalid`, `invalid_argument`.
    var code: String {
        switch self {
        case let .Policy(code, _, _): return code
        case let .Token(code, _, _): return code
        case let .Key(code, _): return code
        case let .Config(code, _): return code
        case let .Snapshot(code, _): return code
        case let .Store(code, _): return code
        case let .Endpoint(code, _, _, _, _, _): return code
        case let .ApprovalDenied(code, _, _, _, _): return code
        case let .ApprovalTimeout(code, _, _): return code
        case let .Io(code, _, _): return code
        case let .Audit(code, _, _): return code
        case let .Internal(code, _): return code
        }
    }

    /// The human sentence of any `ActError` (for a policy, every diagnostic, one per line).
    var msg: String {
        switch self {
        case let .Policy(_, msg, _): return msg
        case let .Token(_, msg, _): return msg
        case let .Key(_, msg): return msg
        case let .Config(_, msg): return msg
        case let .Snapshot(_, msg): return msg
        case let .Store(_, msg): return msg
        case let .Endpoint(_, msg, _, _, _, _): return msg
        case let .ApprovalDenied(_, msg, _, _, _): return msg
        case let .ApprovalTimeout(_, msg, _): return msg
        case let .Io(_, msg, _): return msg
        case let .Audit(_, msg, _): return msg
        case let .Internal(_, msg): return msg
        }
    }
}

public extension Outcome {
    /// The stable code: `"allow"`, `"deny"` or `"approval_required"`.
    var code: String { outcomeCode(outcome: self) }
}

// Literals, so a context reads `["amount": 120, "tags": ["vip"]]`.
extension ContextValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension ContextValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value: value) }
}

extension ContextValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value: value) }
}

extension ContextValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value: value) }
}

extension ContextValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .text(value: value) }
}

extension ContextValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: ContextValue...) { self = .array(items: elements) }
}

extension ContextValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, ContextValue)...) {
        self = .object(entries: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
