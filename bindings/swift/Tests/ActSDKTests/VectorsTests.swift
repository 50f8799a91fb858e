import Foundation
import XCTest
@testable import ActSDK

/// Runs every conformance vector in tests/vectors/ through the Swift API, with the semantics
/// of core/tests/vectors.rs (see tests/vectors/README.md); mirrors VectorsTest.kt.
final class VectorsTests: XCTestCase {
    typealias JSON = [String: Any]

    private func suites() throws -> [(String, JSON)] {
        let index = try loadJSON(Fixtures.vectorsDir.appendingPathComponent("index.json"))
        XCTAssertEqual(index["format"] as? Int, 1, "unknown vector format")
        var out: [(String, JSON)] = []
        for file in index["suites"] as? [String] ?? [] {
            let doc = try loadJSON(Fixtures.vectorsDir.appendingPathComponent(file))
            for suite in doc["suites"] as? [JSON] ?? [] { out.append((file, suite)) }
        }
        return out
    }

    private func loadJSON(_ url: URL) throws -> JSON {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? JSON, url.path)
    }

    func testEveryConformanceVector() throws {
        let all = try suites()
        XCTAssertGreaterThanOrEqual(all.count, 10, "only \(all.count) suites in \(Fixtures.vectorsDir.path)")
        for (file, suite) in all {
            let tmp = try Fixtures.tempDir()
            defer { try? FileManager.default.removeItem(at: tmp) }
            try XCTContext.runActivity(named: "\(file): \(suite["name"] as? String ?? "?")") { _ in
                try runSuite(file, suite, tmp)
            }
        }
    }

    private func runSuite(_ file: String, _ suite: JSON, _ tmp: URL) throws {
        // Loaded as file `policy.yaml`: error texts name it.
        let policy = try Fixtures.policyFile(tmp, suite["policy"] as? String ?? "", name: "policy.yaml")
        if let expected = suite["policy_error"] as? JSON {
            let err = assertActError("policy_invalid") { _ = try Suite(file, suite, policy, tmp) }
            for needle in expected["contains"] as? [String] ?? [] {
                XCTAssertTrue(err?.msg.contains(needle) ?? false, "\(file): error `\(err?.msg ?? "")` lacks `\(needle)`")
            }
            return
        }
        let s = try Suite(file, suite, policy, tmp)
        try s.makeTokens(suite["tokens"] as? JSON ?? [:])
        var enforced = 0
        for (i, step) in (suite["steps"] as? [JSON] ?? []).enumerated() {
            enforced += try s.runStep(i, step)
        }
        // Enforced decisions left records (never more), and the chain verifies.
        try s.act.flushAudit()
        let records = Int(try verifyAuditLog(path: s.audit.path))
        XCTAssertTrue(records <= enforced && (records > 0 || enforced == 0), "\(s.name): \(records) records for \(enforced) decisions")
        try s.act.close()
    }

    final class Suite {
        let name: String
        let policy: URL
        let keys: [String: SigningKey]
        let clock: ManualClock
        let audit: URL
        let act: Act
        var tokens: [String: String] = [:]
        var approvals: [String: String] = [:]

        init(_ file: String, _ suite: JSON, _ policy: URL, _ tmp: URL) throws {
            name = "\(file): \(suite["name"] as? String ?? "?")"
            self.policy = policy
            var keys: [String: SigningKey] = [:]
            for (k, seed) in suite["keys"] as? [String: String] ?? [:] {
                keys[k] = try SigningKey.fromSeed(seed: VectorsTests.b64d(seed))
            }
            let clock = ManualClock(nowMs: (suite["now_ms"] as? NSNumber)?.int64Value ?? Fixtures.nowMs)
            let audit = tmp.appendingPathComponent("audit.jsonl")
            let act = try Act(
                policyFile: policy.path,
                signingKey: (suite["signing_key"] as? String).flatMap { keys[$0] },
                audience: suite["audience"] as? String,
                trustedKeys: (suite["trusted"] as? [String] ?? []).compactMap { keys[$0]?.publicKey() },
                auditFiles: [audit.path],
                clock: clock
            )
            self.keys = keys
            self.clock = clock
            self.audit = audit
            self.act = act
        }

        private func dependsOn(_ spec: JSON) -> String? {
            (spec["delegate"] as? JSON)?["parent"] as? String ?? (spec["tamper"] as? JSON)?["token"] as? String
        }

        func makeTokens(_ specs: JSON) throws {
            // Tokens may be made from other tokens: make them in dependency order.
            var todo: [(String, JSON)] = specs.compactMap { entry in (entry.value as? JSON).map { (entry.key, $0) } }
            var done = Set<String>()
            while !todo.isEmpty {
                let ready = todo.filter { item in self.dependsOn(item.1).map { done.contains($0) } ?? true }
                guard !ready.isEmpty else { throw NSError(domain: "\(name): tokens refer to missing tokens", code: 1) }
                for (tokenName, spec) in ready {
                    tokens[tokenName] = try make(tokenName, spec)
                    done.insert(tokenName)
                }
                todo = todo.filter { !done.contains($0.0) }
            }
        }

        private func make(_ tokenName: String, _ spec: JSON) throws -> String {
            if let raw = spec["raw"] as? String { return raw }
            if let t = spec["tamper"] as? JSON {
                // Re-encode the claims with a patch, keeping the original header and signature.
                let parts = tokens[t["token"] as! String]!.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                var claims = try JSONSerialization.jsonObject(with: VectorsTests.b64d(parts[1])) as! JSON
                for (k, v) in t["claims_patch"] as? JSON ?? [:] { claims[k] = v }
                let data = try JSONSerialization.data(withJSONObject: claims)
                return "\(parts[0]).\(VectorsTests.b64e(data)).\(parts[2])"
            }
            if let i = spec["issue"] as? JSON {
                let issue = { (a: Act) throws -> String in
                    try a.issueToken(
                        agent: i["agent"] as! String,
                        userContext: VectorsTests.context(i["user_context"]),
                        agentContext: VectorsTests.context(i["agent_context"]),
                        policy: (i["policy"] as? JSON).map { VectorsTests.context($0) },
                        ttl: (i["ttl"] as? NSNumber)?.int64Value ?? 3600,
                        holderKey: (i["holder"] as? String).flatMap { self.keys[$0]?.publicKey() }
                    )
                }
                if let signer = i["signed_by"] as? String {
                    // Another issuer with the same policies and its own key, not trusted by the suite.
                    let other = try Act(policyFile: policy.path, signingKey: keys[signer], clock: clock)
                    defer { try? other.close() }
                    return try issue(other)
                }
                return try issue(act)
            }
            if let d = spec["delegate"] as? JSON {
                return try act.delegate(
                    token: tokens[d["parent"] as! String]!,
                    holderKey: keys[d["holder"] as! String]!,
                    agent: d["agent"] as! String,
                    ttl: (d["ttl"] as? NSNumber)?.int64Value ?? 600,
                    policy: (d["policy"] as? JSON).map { VectorsTests.context($0) },
                    agentContext: VectorsTests.context(d["agent_context"]),
                    nextHolderKey: (d["next_holder"] as? String).flatMap { keys[$0]?.publicKey() }
                )
            }
            throw NSError(domain: "\(name): token `\(tokenName)` needs raw, tamper, issue or delegate", code: 2)
        }

        /// Runs one step; returns how many enforced (audited) decisions it made.
        func runStep(_ i: Int, _ step: JSON) throws -> Int {
            let label = "\(name) step \(i) (\(step["name"] as? String ?? ""))"
            if let ms = step["advance_ms"] as? NSNumber { clock.advanceMs(deltaMs: ms.int64Value) }
            let token = (step["token"] as? String).flatMap { self.tokens[$0] } ?? step["token_raw"] as? String ?? ""
            let approval = (step["approval"] as? String).flatMap { self.approvals[$0] }
            let context = VectorsTests.context(step["context"])
            let check = (step["mode"] as? String) == "check"
            let repeatCount = (step["repeat"] as? NSNumber)?.intValue ?? 1
            let e = step["expect"] as! JSON
            let action = step["action"] as! String
            let resource = step["resource"] as! String
            for n in 0..<repeatCount {
                let at = repeatCount > 1 ? "\(label) #\(n)" : label
                let d: Decision = try check
                    ? act.check(token: token, action: action, resource: resource, context: context, approval: approval)
                    : act.validate(token: token, action: action, resource: resource, context: context, approval: approval)
                XCTAssertEqual(d.outcome.code, e["outcome"] as? String, "\(at): \(d)")
                XCTAssertEqual(d.reason, e["reason"] as? String, "\(at): \(d)")
                if e.keys.contains("rule") { XCTAssertEqual(d.rule, e["rule"] as? String, "\(at): rule") }
                if e.keys.contains("constraint") { XCTAssertEqual(d.constraint, e["constraint"] as? String, "\(at): constraint") }
                if let m = e["message_contains"] as? String { XCTAssertTrue(d.message.contains(m), "\(at): message `\(d.message)` lacks `\(m)`") }
                XCTAssertEqual(d.approvalRequest != nil, d.outcome == .approvalRequired, at)
                if let saveAs = step["approve_as"] as? String {
                    let request = try XCTUnwrap(d.approvalRequest, "\(at): nothing to approve")
                    approvals[saveAs] = try act.approve(requestId: request.id, approver: "vector-approver", ttl: 600)
                }
            }
            return check ? 0 : repeatCount
        }
    }

    static func b64d(_ s: String) -> Data {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t)!
    }

    static func b64e(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A JSON object from a vector as a context map (absent: empty).
    static func context(_ v: Any?) -> [String: ContextValue] {
        (v as? JSON ?? [:]).mapValues(value)
    }

    static func value(_ v: Any) -> ContextValue {
        switch v {
        case is NSNull: return .null
        case let n as NSNumber:
            if CFGetTypeID(n) == CFBooleanGetTypeID() { return .bool(value: n.boolValue) }
            if CFNumberIsFloatType(n as CFNumber) { return .double(value: n.doubleValue) }
            return .int(value: n.int64Value)
        case let s as String: return .text(value: s)
        case let a as [Any]: return .array(items: a.map(value))
        case let o as JSON: return .object(entries: o.mapValues(value))
        default: return .null
        }
    }
}
