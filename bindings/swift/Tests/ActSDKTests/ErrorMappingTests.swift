import Foundation
import XCTest
@testable import ActSDK

/// Every kind of bad input arrives as its own ActError case with the core's stable code
/// (mirrors ErrorMappingTest.kt). An agent's bad input to validate is a deny, never an error.
final class ErrorMappingTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws { tmp = try Fixtures.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func makeAct() throws -> Act {
        try Act(policyFile: try Fixtures.policyFile(tmp).path, signingKey: try SigningKey.generate(), clock: ManualClock(nowMs: Fixtures.nowMs))
    }

    func testConstructor() throws {
        let policy = try Fixtures.policyFile(tmp).path
        if case let .Io(_, _, path)? = assertActError("io_error", { _ = try Act(policyFile: self.tmp.appendingPathComponent("missing.yaml").path) }) {
            XCTAssertTrue(path.hasSuffix("missing.yaml"), path)
        } else {
            XCTFail("expected ActError.Io")
        }
        let bad = try Fixtures.policyFile(tmp, "agent: x\npolicy:\n  actions: [a]\n  resources: ['**']\n  constraints:\n    a:\n      maxAmont: 5\n", name: "bad.yaml")
        if case let .Policy(_, msg, diagnostics)? = assertActError("policy_invalid", { _ = try Act(policyFile: bad.path) }) {
            XCTAssertEqual(diagnostics.first?.line, 7)
            XCTAssertTrue(diagnostics.first?.key.contains("maxAmont") ?? false)
            XCTAssertTrue(msg.contains("bad.yaml:7:"), msg)
        } else {
            XCTFail("expected ActError.Policy")
        }
        assertActError("invalid_argument") { _ = try Act(policyFile: policy, audience: "") }
        assertActError("invalid_argument") { _ = try Act(policyFile: policy, leeway: -1) }
        assertActError("invalid_argument") { _ = try Act(policyFile: policy, issuer: " ") }
        assertActError("io_error") { _ = try Act(policyFile: policy, auditFiles: [self.tmp.appendingPathComponent("no/such/dir.jsonl").path]) }
    }

    func testIssueToken() throws {
        let act = try makeAct()
        defer { try? act.close() }
        let ok: [String: ContextValue] = ["user_id": "42"]
        assertActError("invalid_argument") { _ = try act.issueToken(agent: "", userContext: ok) }
        assertActError("invalid_argument") { _ = try act.issueToken(agent: "unknown-bot", userContext: ok) }
        assertActError("invalid_argument") { _ = try act.issueToken(agent: "customer-support-bot", userContext: [:]) }
        let nan = assertActError("invalid_argument") {
            _ = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42", "x": .double(value: .nan)])
        }
        XCTAssertTrue(nan?.msg.contains("user_context[\"x\"]") ?? false)
        assertActError("policy_invalid") {
            _ = try act.issueToken(agent: "customer-support-bot", userContext: ok, policy: ["actoins": ["read"], "resources": ["**"]])
        }
        assertActError("invalid_argument") { _ = try act.issueToken(agent: "customer-support-bot", userContext: ok, ttl: 0) }
        assertActError("invalid_argument") { _ = try act.issueToken(agent: "customer-support-bot", userContext: ok, ttl: -5) }
        let big = assertActError("token_invalid") {
            _ = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42", "blob": .text(value: String(repeating: "x", count: 20_000))])
        }
        if case let .Token(_, _, reason)? = big { XCTAssertEqual(reason, "token_too_large") } else { XCTFail("expected ActError.Token") }
    }

    func testValidateBadInput() throws {
        let act = try makeAct()
        defer { try? act.close() }
        let alice = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"])
        assertActError("invalid_argument") {
            _ = try act.validate(token: alice, action: "read_order", resource: Fixtures.order, context: ["x": .double(value: .infinity)])
        }
        var deep: ContextValue = .null
        for _ in 0..<100 { deep = .array(items: [deep]) }
        assertActError("invalid_argument") { _ = try act.check(token: alice, action: "read_order", resource: Fixtures.order, context: ["deep": deep]) }
        XCTAssertEqual(try act.validate(token: alice, action: "", resource: Fixtures.order).reason, "request_invalid")
        XCTAssertEqual(try act.validate(token: alice, action: "read_order", resource: "order://customer:42/../43/1").reason, "resource_invalid")
        XCTAssertEqual(try act.validate(token: "", action: "read_order", resource: Fixtures.order).reason, "token_malformed")
        XCTAssertEqual(try act.validate(token: alice, action: "read_order", resource: Fixtures.order, approval: "junk").outcome, .deny)
    }

    func testApproveAndDelegate() throws {
        let act = try makeAct()
        defer { try? act.close() }
        let holder = try SigningKey.generate()
        let parent = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"], holderKey: holder.publicKey())
        let request = try XCTUnwrap(try act.validate(token: parent, action: "process_refund", resource: Fixtures.order, context: ["amount": 200]).approvalRequest)
        assertActError("invalid_argument") { _ = try act.approve(requestId: "not-an-id", approver: "a", ttl: 60) }
        assertActError("invalid_argument") { _ = try act.approve(requestId: request.id, approver: " ", ttl: 60) }
        assertActError("invalid_argument") { _ = try act.approve(requestId: request.id, approver: "a", ttl: 0) }
        let wrong = assertActError("token_invalid") { _ = try act.delegate(token: parent, holderKey: try SigningKey.generate(), agent: "sub", ttl: 60) }
        if case let .Token(_, _, reason)? = wrong { XCTAssertEqual(reason, "delegation_invalid") } else { XCTFail("expected ActError.Token") }
        assertActError("token_invalid") { _ = try act.delegate(token: "garbage", holderKey: holder, agent: "sub", ttl: 60) }
        assertActError("invalid_argument") { _ = try act.delegate(token: parent, holderKey: holder, agent: "sub", ttl: 0) }
        assertActError("policy_invalid") { _ = try act.delegate(token: parent, holderKey: holder, agent: "sub", ttl: 60, policy: ["actions": []]) }
    }

    func testKeys() throws {
        assertActError("key_invalid") { _ = try SigningKey.fromSeed(seed: Data([1, 2, 3])) }
        assertActError("key_invalid") { _ = try SigningKey.fromPem(pem: "junk") }
        assertActError("key_invalid") { _ = try SigningKey.fromJwk(jwk: "{") }
        assertActError("key_invalid") { _ = try VerifyingKey.parse(text: "rsa:abc") }
        assertActError("key_invalid") { _ = try VerifyingKey.fromBytes(raw: Data([1])) }
        let key = try SigningKey.generate()
        XCTAssertEqual(try SigningKey.fromPem(pem: key.toPem()).kid(), key.kid())
        XCTAssertEqual(try SigningKey.fromJwk(jwk: key.toJwk()).kid(), key.kid())
        let pub = key.publicKey()
        XCTAssertEqual(try VerifyingKey.parse(text: pub.description), pub)
        XCTAssertFalse(key.description.contains(key.toPem()), "a SigningKey never prints its secret")
    }

    func testClosedActRefusesEveryCall() throws {
        let act = try makeAct()
        let token = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"])
        try act.close()
        try act.close() // idempotent
        XCTAssertTrue(act.status().closed)
        assertActError("invalid_argument") { _ = try act.validate(token: token, action: "read_order", resource: Fixtures.order) }
        assertActError("invalid_argument") { _ = try act.reload() }
        assertActError("invalid_argument") { _ = try act.flushAudit() }
    }

    func testAuditLogVerification() throws {
        assertActError("io_error") { _ = try verifyAuditLog(path: self.tmp.appendingPathComponent("missing.jsonl").path) }
        let log = tmp.appendingPathComponent("audit.jsonl")
        let act = try Act(policyFile: try Fixtures.policyFile(tmp).path, signingKey: try SigningKey.generate(), auditFiles: [log.path])
        let token = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"])
        for amount: Int64 in [10, 20, 30] {
            _ = try act.validate(token: token, action: "process_refund", resource: Fixtures.order, context: ["amount": .int(value: amount)])
        }
        try act.close()
        XCTAssertEqual(try verifyAuditLog(path: log.path), 3)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        try ([lines[0], lines[2]].joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        if case let .Audit(_, _, line)? = assertActError("audit_chain_broken", { _ = try verifyAuditLog(path: log.path) }) {
            XCTAssertEqual(line, 2)
        } else {
            XCTFail("expected ActError.Audit")
        }
    }

    func testAPanicInTheCoreArrivesAsInternal() throws {
        let e = assertActError("internal") { try panicForTests() }
        XCTAssertTrue(e?.msg.contains("deliberate panic") ?? false)
        XCTAssertTrue(reasonCodes().contains("constraint_failed"))
    }
}
