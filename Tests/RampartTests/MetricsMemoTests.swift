import RampartProxy
import Testing

/// The shard remembers where the last request's counters are; whatever the order of routes,
/// statuses, protocols and upstreams, every request is counted once, under its own labels.
@Suite struct MetricsMemoTests {
    @Test func everyRequestIsCountedUnderItsOwnLabels() {
        let metrics = Metrics(shardCount: 1)
        let shard = metrics.shards[0]
        let sequence: [(String, Int, Bool)] = [("chat", 200, false), ("chat", 200, false), ("chat", 429, false), ("chat", 200, true),
                                               ("docs", 200, false), ("chat", 200, false), ("docs", 200, false), ("docs", 500, false)]
        for (route, status, h2) in sequence { shard.recordRequest(route: route, status: status, seconds: 0.002, http2: h2) }
        for upstream in ["app", "app", "llm", "app"] { shard.recordUpstream(upstream, seconds: 0.003) }
        let text = metrics.render()
        func has(_ line: String) -> Bool { text.split(separator: "\n").contains { $0 == line } }
        #expect(has(#"rampart_requests_total{route="chat",status="200",protocol="http/1.1"} 3"#))
        #expect(has(#"rampart_requests_total{route="chat",status="429",protocol="http/1.1"} 1"#))
        #expect(has(#"rampart_requests_total{route="chat",status="200",protocol="h2"} 1"#))
        #expect(has(#"rampart_requests_total{route="docs",status="200",protocol="http/1.1"} 2"#))
        #expect(has(#"rampart_requests_total{route="docs",status="500",protocol="http/1.1"} 1"#))
        #expect(text.contains(#"_count{route="chat"} 5"#), "chat's latency saw 5 requests")
        #expect(text.contains(#"_count{route="docs"} 3"#), "docs' latency saw 3 requests")
        #expect(text.contains(#"_count{upstream="app"} 3"#) && text.contains(#"_count{upstream="llm"} 1"#), "upstream latency counts")
    }
}
