import Foundation
import Testing

/// `Tests/Fixtures/otlp_receiver.py`: an OTLP/HTTP JSON receiver that keeps every span it is sent.
final class OTLPReceiver: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16
    init() throws {
        child = try ChildProcess("/usr/bin/python3", [Binaries.repoRoot + "/Tests/Fixtures/otlp_receiver.py"])
        let line = try child.waitForLine(containing: "listening")
        guard let p = line.split(separator: " ").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("cannot parse the receiver's port from \(line)")
        }
        port = p
    }
    var spans: [[String: Any]] {
        ((try? HTTPClient.request(port: port, path: "/spans"))?.body).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [[String: Any]] } ?? []
    }
}

func attributes(_ span: [String: Any]) -> [String: Any] {
    var out: [String: Any] = [:]
    for a in span["attributes"] as? [[String: Any]] ?? [] {
        let v = a["value"] as? [String: Any] ?? [:]
        out[a["key"] as? String ?? ""] = v["stringValue"] ?? (v["intValue"] as? String).flatMap { Int($0) } ?? NSNull()
    }
    return out
}

@Suite(.serialized) struct TracingTests {
    /// A client's `traceparent` is continued: the app gets Rampart's span as its parent, in the same
    /// trace, and the collector gets that span (the client's span as its parent) with the route,
    /// status and upstream; a request without one starts a trace; an AI call's span carries the
    /// GenAI usage attributes.
    @Test func requestsBecomeSpansInTheClientsTrace() throws {
        let app = try DemoApp()
        let receiver = try OTLPReceiver()
        let config = testConfig(upstream: app.url, routes: """
            [{"name": "messages", "match": {"path": "/v1/messages"}, "format": "anthropic"},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """, extraTop: #""tracing": {"otlp_endpoint": "http://127.0.0.1:\#(receiver.port)/v1/traces", "sample_ratio": 1.0, "service_name": "rampart-test"}"#)
        let rampart = try RampartProcess(config: config)
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7"
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/traced", headers: ["traceparent": "00-\(trace)-\(parent)-01", "tracestate": "vendor=1"])
        #expect(r.status == 200)
        let sent = (r.json["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        let upstreamParent = try #require(sent.first { $0.0 == "traceparent" }?.1, "the app gets a traceparent: \(sent)")
        let parts = upstreamParent.split(separator: "-").map(String.init)
        #expect(parts.count == 4 && parts[1] == trace && parts[2] != parent && parts[3] == "01", "same trace, Rampart's span as parent: \(upstreamParent)")
        #expect(sent.first { $0.0 == "tracestate" }?.1 == "vendor=1")

        let fresh = try HTTPClient.request(port: rampart.port, path: "/echo/new")
        let freshParent = ((fresh.json["headers"] as? [[String]] ?? []).first { $0[0].lowercased() == "traceparent" })?[1] ?? ""
        #expect(freshParent.hasPrefix("00-") && !freshParent.contains(trace), "a new trace when the client sends none: \(freshParent)")

        let ai = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/messages",
                                        body: Array(#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#.utf8),
                                        headers: ["Content-Type": "application/json"])
        #expect(ai.status == 200)

        var spans: [[String: Any]] = []
        try eventually(timeout: 20, "three spans at the collector") { spans = receiver.spans; return spans.count >= 3 }
        let traced = try #require(spans.first { $0["traceId"] as? String == trace }, "\(spans)")
        #expect(traced["parentSpanId"] as? String == parent && traced["spanId"] as? String == parts[2])
        #expect(traced["service"] as? String == "rampart-test" && traced["content_type"] as? String == "application/json")
        #expect(traced["name"] as? String == "GET default" && traced["kind"] as? Int == 2)
        let a = attributes(traced)
        #expect(a["http.route"] as? String == "default" && a["http.response.status_code"] as? Int == 200 && a["url.path"] as? String == "/echo/traced")
        #expect(a["server.address"] as? String == "127.0.0.1" && a["server.port"] as? Int == Int(app.port), "\(a)")
        #expect(a["rampart.request_id"] as? String == r.header("X-Request-Id"))
        let start = Int(traced["startTimeUnixNano"] as? String ?? "") ?? 0, end = Int(traced["endTimeUnixNano"] as? String ?? "") ?? 0
        #expect(start > 1_700_000_000_000_000_000 && end >= start, "wall-clock nanoseconds: \(start) \(end)")
        let aiSpan = try #require(spans.first { attributes($0)["http.route"] as? String == "messages" })
        let g = attributes(aiSpan)
        #expect(g["gen_ai.system"] as? String == "anthropic" && (g["gen_ai.usage.input_tokens"] as? Int ?? 0) > 0
                && (g["gen_ai.usage.output_tokens"] as? Int ?? 0) > 0 && g["gen_ai.response.model"] != nil, "\(g)")
    }

    /// `sample_ratio: 0` records no new trace (the upstream still gets an unsampled traceparent),
    /// while a client's sampled trace is kept.
    @Test func sampleRatioDecidesNewTracesOnly() throws {
        let app = try DemoApp()
        let receiver = try OTLPReceiver()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url,
            extraTop: #""tracing": {"otlp_endpoint": "http://127.0.0.1:\#(receiver.port)/v1/traces", "sample_ratio": 0}"#))
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/unsampled")
        let tp = ((r.json["headers"] as? [[String]] ?? []).first { $0[0].lowercased() == "traceparent" })?[1] ?? ""
        #expect(tp.hasSuffix("-00"), "propagated, unsampled: \(tp)")
        _ = try HTTPClient.request(port: rampart.port, path: "/echo/sampled", headers: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
        // Spans leave in the order they ended: an unsampled span, had it been kept, would come first.
        try eventually(timeout: 20, "the sampled span") { !receiver.spans.isEmpty }
        let spans = receiver.spans
        #expect(spans.count == 1 && spans[0]["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c", "\(spans)")
    }

    /// With a pool, each span names the server its request went to (issue 23 point 5).
    @Test func spansNameThePooledServerUsed() throws {
        let a = try DemoApp(), b = try DemoApp()
        let receiver = try OTLPReceiver()
        let rampart = try RampartProcess(config: poolConfig([(a.url, 1), (b.url, 1)],
            top: #""tracing": {"otlp_endpoint": "http://127.0.0.1:\#(receiver.port)/v1/traces", "sample_ratio": 1.0}"#))
        for _ in 0..<4 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/pooled").status == 200) }
        var spans: [[String: Any]] = []
        try eventually(timeout: 20, "four spans at the collector") { spans = receiver.spans; return spans.count >= 4 }
        let ports = spans.map { attributes($0)["server.port"] as? Int ?? 0 }
        #expect(ports.filter { $0 == Int(a.port) }.count == 2 && ports.filter { $0 == Int(b.port) }.count == 2, "\(ports) for \(a.port), \(b.port)")
    }
}
