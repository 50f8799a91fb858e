import Foundation
import XCTest
@testable import ActSDK

/// The article's customer-support scenario, end to end through the Swift API (mirrors CustomerSupportTest.kt).
final class CustomerSupportTests: XCTestCase {
    var tmp: URL!
    var policy: URL!
    var clock: ManualClock!
    var key: SigningKey!
    var act: Act!
    var alice: String!

    override func setUpWithError() throws {
        tmp = try Fixtures.tempDir()
        policy = try Fixtures.policyFile(tmp)
        clock = ManualClock(nowMs: Fixtures.nowMs)
        key = try SigningKey.generate()
        act = try Act(policyFile: policy.path, signingKey: key, clock: clock)
        alice = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42", "roles": ["customer"]], ttl: 172_800)
    }

    override func tearDownWithError() throws {
        try act.close()
        try? FileManager.default.removeItem(at: tmp)
    }

    private func refund(_ amount: ContextValue, approval: String? = nil) throws -> Decision {
        try act.validate(token: alice, action: "process_refund", resource: Fixtures.order, context: ["amount": amount], approval: approval)
    }

    func testRefundUnder100IsAllowed() throws {
        let d = try refund(80)
        XCTAssertTrue(d.allowed)
        XCTAssertEqual(d.outcome, .allow)
        XCTAssertEqual(d.outcome.code, "allow")
        XCTAssertEqual(d.reason, "allowed")
        XCTAssertEqual(d.rule, "customer-support-bot")
        XCTAssertEqual(d.agent, "customer-support-bot")
        XCTAssertEqual(d.subject, "42")
        XCTAssertEqual(d.snapshotVersion, 1)
        XCTAssertFalse(d.auditId.isEmpty, "logAllActions: true")
    }

    func testRefundOver500IsDeniedNamingTheConstraint() throws {
        let d = try refund(600)
        XCTAssertFalse(d.allowed)
        XCTAssertEqual(d.outcome, .deny)
        XCTAssertEqual(d.reason, "constraint_failed")
        XCTAssertEqual(d.constraint, "customer-support-bot/process_refund/maxAmount")
        XCTAssertTrue(d.message.contains("amount <= 500"), d.message)
    }

    func testFractionalAmountsCompareLikeWholeOnes() throws {
        XCTAssertEqual(try refund(120.5).reason, "approval_required")
        XCTAssertEqual(try refund(99.5).reason, "allowed")
    }

    func testOtherCustomersOrdersAreOutOfReach() throws {
        XCTAssertEqual(try act.validate(token: alice, action: "read_order", resource: "order://customer:43/1001").reason, "resource_not_allowed")
    }

    func testAdminFunctionsAreNotGranted() throws {
        XCTAssertEqual(try act.validate(token: alice, action: "delete_customer", resource: Fixtures.order).reason, "action_not_allowed")
    }

    func testLargeRefundNeedsAHumanThenPassesOnce() throws {
        let first = try refund(120)
        XCTAssertEqual(first.outcome, .approvalRequired)
        XCTAssertEqual(first.reason, "approval_required")
        let request = try XCTUnwrap(first.approvalRequest)
        XCTAssertEqual(request.condition, "amount > 100")
        XCTAssertEqual(request.resource, Fixtures.order)
        XCTAssertEqual(request.action, "process_refund")
        let approval = try act.approve(requestId: request.id, approver: "supervisor@example.com", ttl: 600)
        // The approval is bound to the exact request: another amount does not use it.
        XCTAssertEqual(try refund(130, approval: approval).reason, "approval_invalid")
        let ok = try refund(120, approval: approval)
        XCTAssertTrue(ok.allowed)
        XCTAssertEqual(ok.reason, "approved")
        XCTAssertEqual(try refund(120, approval: approval).reason, "approval_replayed")
    }

    func testFiveRefundsADayThenRateLimitedUntilTomorrow() throws {
        for _ in 0..<5 { XCTAssertTrue(try refund(50).allowed) }
        let sixth = try refund(50)
        XCTAssertEqual(sixth.reason, "rate_limited")
        XCTAssertEqual(sixth.constraint, "customer-support-bot/process_refund/maxPerDay")
        clock.advanceMs(deltaMs: 86_400_000)
        XCTAssertTrue(try refund(50).allowed)
    }

    func testCheckAndExplainDoNotConsumeLimits() throws {
        for _ in 0..<10 {
            let d = try act.check(token: alice, action: "process_refund", resource: Fixtures.order, context: ["amount": 50])
            XCTAssertTrue(d.allowed)
            XCTAssertEqual(d.auditId, "")
            XCTAssertNil(d.trace)
        }
        let explained = try act.explain(token: alice, action: "process_refund", resource: Fixtures.order, context: ["amount": 600])
        XCTAssertEqual(explained.reason, "constraint_failed")
        let trace = try XCTUnwrap(explained.trace)
        XCTAssertEqual(trace.first?.stage, "token")
        XCTAssertTrue(trace.contains { $0.detail.contains("amount <= 500") })
        for _ in 0..<5 { XCTAssertTrue(try refund(50).allowed) }
    }

    func testForgedAndForeignTokensAreDeniesNotErrors() throws {
        XCTAssertEqual(try act.validate(token: "not-a-token", action: "read_order", resource: Fixtures.order).reason, "token_malformed")
        let tampered = String(alice.dropLast(3)) + (alice.hasSuffix("AAA") ? "BBB" : "AAA")
        XCTAssertEqual(try act.validate(token: tampered, action: "read_order", resource: Fixtures.order).reason, "token_signature_invalid")
        let other = try Act(policyFile: policy.path, signingKey: try SigningKey.generate())
        let foreign = try other.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"])
        try other.close()
        XCTAssertEqual(try act.validate(token: foreign, action: "read_order", resource: Fixtures.order).reason, "token_unknown_key")
    }

    func testExpiredToken() throws {
        let token = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"], ttl: 60)
        clock.advanceMs(deltaMs: 120_000)
        XCTAssertEqual(try act.validate(token: token, action: "read_order", resource: Fixtures.order).reason, "token_expired")
    }

    func testInlinePolicyFromTheArticle() throws {
        let p = try Fixtures.policyFile(tmp, "agent: email-assistant\npolicy:\n  actions: [read]\n  resources: [\"email://{{user.id}}/*\"]\n", name: "p.yaml")
        let mail = try Act(policyFile: p.path, signingKey: key, clock: clock)
        defer { try? mail.close() }
        let token = try mail.issueToken(
            agent: "email-assistant",
            userContext: ["user_id": "alice", "oauth_scopes": ["read:email"]],
            policy: ["actions": ["read"], "resources": ["email://alice/*"]]
        )
        XCTAssertTrue(try mail.validate(token: token, action: "read", resource: "email://alice/17").allowed)
        XCTAssertEqual(try mail.validate(token: token, action: "read", resource: "email://bob/17").reason, "resource_not_allowed")
    }

    func testDelegationNarrows() throws {
        let holder = try SigningKey.generate()
        let parent = try act.issueToken(agent: "customer-support-bot", userContext: ["user_id": "42"], holderKey: holder.publicKey())
        let child = try act.delegate(
            token: parent, holderKey: holder, agent: "lookup-subagent", ttl: 300,
            policy: ["actions": ["read_order"], "resources": ["order://customer:42/*"]]
        )
        XCTAssertTrue(child.hasPrefix(parent + "~"))
        XCTAssertTrue(try act.validate(token: child, action: "read_order", resource: Fixtures.order, context: ["rows": 1]).allowed)
        XCTAssertEqual(try act.validate(token: child, action: "process_refund", resource: Fixtures.order, context: ["amount": 10]).reason, "action_not_allowed")
    }

    func testReloadPicksUpTheEditedFile() throws {
        XCTAssertEqual(try refund(450).outcome, .approvalRequired)
        let text = try String(contentsOf: policy, encoding: .utf8).replacingOccurrences(of: "maxAmount: 500", with: "maxAmount: 400")
        try text.write(to: policy, atomically: true, encoding: .utf8)
        XCTAssertEqual(try act.reload(), 2)
        let d = try refund(450)
        XCTAssertEqual(d.reason, "constraint_failed")
        XCTAssertEqual(d.snapshotVersion, 2)
        XCTAssertEqual(act.status().snapshotVersion, 2)
    }

    func testJsonContextConvenience() throws {
        let ctx = try contextFromJson(json: #"{"amount": 120, "note": "late delivery"}"#)
        XCTAssertEqual(ctx["amount"], .int(value: 120))
        XCTAssertEqual(try act.check(token: alice, action: "process_refund", resource: Fixtures.order, context: ctx).reason, "approval_required")
        XCTAssertEqual(try contextFromJson(json: try contextToJson(context: ctx)), ctx)
    }
}
