import Foundation
import XCTest
@testable import ActSDK

/// Shared test data: the article's customer-support policy and a clock start.
enum Fixtures {
    static let nowMs: Int64 = 1_800_000_000_000
    static let order = "order://customer:42/1001"

    /// The article's customer-support policy, as written (re-indented only).
    static let articlePolicy = """
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

    """

    /// tests/vectors of this repository (or $ACT_VECTORS_DIR).
    static var vectorsDir: URL {
        if let dir = ProcessInfo.processInfo.environment["ACT_VECTORS_DIR"] {
            return URL(fileURLWithPath: dir)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent() // ActSDKTests
            .deletingLastPathComponent() // Tests
            .deletingLastPathComponent() // swift
            .deletingLastPathComponent() // bindings
            .appendingPathComponent("tests/vectors")
    }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("act-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func policyFile(_ dir: URL, _ text: String = Fixtures.articlePolicy, name: String = "policies.yaml") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}

/// Asserts that `body` throws an `ActError` with `code`, and returns it.
@discardableResult
func assertActError(_ code: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> ActError? {
    do {
        try body()
        XCTFail("expected ActError \(code), nothing was thrown", file: file, line: line)
    } catch let e as ActError {
        XCTAssertEqual(e.code, code, e.msg, file: file, line: line)
        XCTAssertFalse(e.msg.isEmpty, file: file, line: line)
        return e
    } catch {
        XCTFail("expected ActError \(code), got \(error)", file: file, line: line)
    }
    return nil
}
