import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation
import Synchronization

/// Prometheus metrics. Each worker loop writes its own shard (an uncontended lock), and a scrape
/// merges the shards, so counting never makes loops wait on each other. Labels are bounded:
/// route and upstream names from the config, status codes, fixed kinds — never a user id.
public final class Metrics: Sendable {
    public let shards: [MetricsShard]
    public let activeConnections = Atomic<Int>(0)
    public let activeStreams = Atomic<Int>(0)
    public let inFlight = Atomic<Int>(0)
    /// Connections refused at accept: over `max_connections`, and with no descriptor left.
    public let refusedOverCapacity = Atomic<Int>(0)
    public let refusedNoDescriptor = Atomic<Int>(0)
    public let reloads = Lock<(ok: Int, failed: Int)>((0, 0))
    public let webSockets = WebSocketMetrics()
    /// HTTP/2 connections ended with GOAWAY for abuse, by kind (a fixed set: `HTTP2Abuse`).
    public let http2Abuses = Lock<[String: Int]>([:])
    public func http2Abuse(_ kind: String) { http2Abuses.withLock { $0[kind, default: 0] += 1 } }

    public func connectionRefused(_ reason: AcceptRefusal) {
        switch reason {
        case .overCapacity: refusedOverCapacity.add(1, ordering: .relaxed)
        case .outOfDescriptors: refusedNoDescriptor.add(1, ordering: .relaxed)
        }
    }

    public init(shardCount: Int) { shards = (0..<max(1, shardCount)).map { _ in MetricsShard() } }

    /// A label value as the text format wants it: backslash, quote and newline escaped.
    public static func labelValue(_ v: String) -> String {
        guard v.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return v }
        return v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    public static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    /// The Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        var merged = MetricsShard.State()
        var bytesIn = 0, bytesOut = 0
        for s in shards {
            s.state.withLock { merged.merge($0) }
            bytesIn += s.bytesIn.load(ordering: .relaxed)
            bytesOut += s.bytesOut.load(ordering: .relaxed)
        }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        let esc = Metrics.labelValue
        header("rampart_requests_total", "counter", "Requests answered, by route, status code and protocol (http/1.1, h2).")
        for (counts, proto) in [(merged.requests, "http/1.1"), (merged.h2Requests, "h2")] {
            for (k, v) in counts.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
                out += "rampart_requests_total{route=\"\(esc(k.route))\",status=\"\(k.status)\",protocol=\"\(proto)\"} \(v)\n"
            }
        }
        header("rampart_request_duration_seconds", "histogram", "Time from request head to end of response, by route.")
        for (route, h) in merged.latency.sorted(by: { $0.key < $1.key }) {
            h.render(name: "rampart_request_duration_seconds", labels: "route=\"\(esc(route))\"", into: &out)
        }
        header("rampart_upstream_duration_seconds", "histogram", "Time from sending upstream to the response head, by upstream.")
        for (up, h) in merged.upstreamLatency.sorted(by: { $0.key < $1.key }) {
            h.render(name: "rampart_upstream_duration_seconds", labels: "upstream=\"\(esc(up))\"", into: &out)
        }
        header("rampart_upstream_errors_total", "counter", "Upstream exchanges that failed, by upstream and kind.")
        for (k, v) in merged.upstreamErrors.sorted(by: { ($0.key.upstream, $0.key.kind) < ($1.key.upstream, $1.key.kind) }) {
            out += "rampart_upstream_errors_total{upstream=\"\(esc(k.upstream))\",kind=\"\(k.kind)\"} \(v)\n"
        }
        header("rampart_timeouts_total", "counter", "Timeouts fired, by kind (header, body, connect, first_byte, idle, total).")
        for (k, v) in merged.timeouts.sorted(by: { $0.key < $1.key }) { out += "rampart_timeouts_total{kind=\"\(k)\"} \(v)\n" }
        header("rampart_bad_requests_total", "counter", "Requests rejected by the strict HTTP parser.")
        out += "rampart_bad_requests_total \(merged.parseErrors)\n"
        header("rampart_stream_errors_total", "counter", "Streams that ended with an error event after the response started.")
        out += "rampart_stream_errors_total \(merged.streamErrors)\n"
        header("rampart_quota_decisions_total", "counter", "Quota decisions, by route and result (allowed or limited).")
        for (k, v) in merged.quotaDecisions.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
            out += "rampart_quota_decisions_total{route=\"\(esc(k.route))\",result=\"\(k.status == 1 ? "allowed" : "limited")\"} \(v)\n"
        }
        header("rampart_store_errors_total", "counter", "Store operations that failed (Redis unreachable or timing out), by use.")
        for (k, v) in merged.storeErrors.sorted(by: { $0.key < $1.key }) { out += "rampart_store_errors_total{kind=\"\(k)\"} \(v)\n" }
        header("rampart_upstream_retries_total", "counter", "Retried upstream attempts, by upstream.")
        for (k, v) in merged.retries.sorted(by: { $0.key < $1.key }) { out += "rampart_upstream_retries_total{upstream=\"\(esc(k))\"} \(v)\n" }
        header("rampart_breaker_transitions_total", "counter", "Circuit breaker state changes, by upstream and the state entered.")
        for (k, v) in merged.breakerTransitions.sorted(by: { ($0.key.upstream, $0.key.kind) < ($1.key.upstream, $1.key.kind) }) {
            out += "rampart_breaker_transitions_total{upstream=\"\(esc(k.upstream))\",to=\"\(k.kind)\"} \(v)\n"
        }
        header("rampart_truncations_total", "counter", "Requests whose chat history was truncated to the token budget, by route.")
        for (k, v) in merged.truncations.sorted(by: { $0.key < $1.key }) { out += "rampart_truncations_total{route=\"\(esc(k))\"} \(v)\n" }
        header("rampart_truncated_messages_total", "counter", "Chat messages dropped by truncation, by route.")
        for (k, v) in merged.truncatedMessages.sorted(by: { $0.key < $1.key }) { out += "rampart_truncated_messages_total{route=\"\(esc(k))\"} \(v)\n" }
        header("rampart_stream_saves_total", "counter", "Confirmed saves of generated content, by route and result.")
        for (k, v) in merged.saves.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
            out += "rampart_stream_saves_total{route=\"\(esc(k.route))\",result=\"\(MetricsShard.saveResults[k.status])\"} \(v)\n"
        }
        header("rampart_ai_usage_estimated_total", "counter", "AI calls charged an estimate because the response reported no usage, by route.")
        for (k, v) in merged.usageEstimates.sorted(by: { $0.key < $1.key }) { out += "rampart_ai_usage_estimated_total{route=\"\(esc(k))\"} \(v)\n" }
        header("rampart_save_sanitized_total", "counter", "What stream_save.sanitize changed in saved content, by route: elements and attributes removed (html), characters escaped (text).")
        for (k, v) in merged.saveSanitized.sorted(by: { $0.key < $1.key }) { out += "rampart_save_sanitized_total{route=\"\(esc(k))\"} \(v)\n" }
        header("rampart_active_connections", "gauge", "Open client connections.")
        out += "rampart_active_connections \(activeConnections.load(ordering: .relaxed))\n"
        header("rampart_connections_refused_total", "counter", "Connections refused at accept with a 503, by reason (max_connections, or fd_limit: no file descriptor left).")
        out += "rampart_connections_refused_total{reason=\"max_connections\"} \(refusedOverCapacity.load(ordering: .relaxed))\n"
        out += "rampart_connections_refused_total{reason=\"fd_limit\"} \(refusedNoDescriptor.load(ordering: .relaxed))\n"
        header("rampart_in_flight_requests", "gauge", "Requests currently being proxied (head received, response not finished).")
        out += "rampart_in_flight_requests \(inFlight.load(ordering: .relaxed))\n"
        header("rampart_active_streams", "gauge", "Server-sent event streams currently flowing to clients.")
        out += "rampart_active_streams \(activeStreams.load(ordering: .relaxed))\n"
        header("rampart_received_bytes_total", "counter", "Bytes read from clients.")
        out += "rampart_received_bytes_total \(bytesIn)\n"
        header("rampart_sent_bytes_total", "counter", "Bytes written to clients.")
        out += "rampart_sent_bytes_total \(bytesOut)\n"
        webSockets.render(into: &out)
        header("rampart_http2_abuse_total", "counter", "HTTP/2 connections ended with GOAWAY for abuse, by kind (rapid_reset, continuation, header_list, hpack, ping_flood, settings_flood, flood, protocol).")
        for (k, v) in http2Abuses.withLock({ $0 }).sorted(by: { $0.key < $1.key }) { out += "rampart_http2_abuse_total{kind=\"\(k)\"} \(v)\n" }
        let r = reloads.withLock { $0 }
        header("rampart_config_reloads_total", "counter", "Config reloads, by result.")
        out += "rampart_config_reloads_total{result=\"ok\"} \(r.ok)\nrampart_config_reloads_total{result=\"failed\"} \(r.failed)\n"
        return out
    }
}

public final class MetricsShard: Sendable {
    struct RouteStatus: Hashable { var route: String; var status: Int }
    struct UpstreamKind: Hashable { var upstream: String; var kind: String }

    package struct State {
        var requests: [RouteStatus: Int] = [:]
        var h2Requests: [RouteStatus: Int] = [:]
        var latency: [String: Histogram] = [:]
        var upstreamLatency: [String: Histogram] = [:]
        var upstreamErrors: [UpstreamKind: Int] = [:]
        package var timeouts: [String: Int] = [:]
        var parseErrors = 0
        var streamErrors = 0
        var quotaDecisions: [RouteStatus: Int] = [:]   // status 1 = allowed, 0 = limited
        var storeErrors: [String: Int] = [:]
        var retries: [String: Int] = [:]
        var truncations: [String: Int] = [:]
        var saves: [RouteStatus: Int] = [:]   // status = the index of the result in `saveResults`
        var truncatedMessages: [String: Int] = [:]
        var breakerTransitions: [UpstreamKind: Int] = [:]   // kind = the state entered
        var usageEstimates: [String: Int] = [:]
        var saveSanitized: [String: Int] = [:]
        /// Where the last request's counters are, so the next request of the same route and
        /// status (nearly every one) updates them without hashing its route name. Indices hold
        /// until a key is inserted into their dictionary, which only the counting method that
        /// keeps that memo does (`count`, `countUpstream`, `countQuotaDecision`), refreshing it then.
        private var memo = Memo()

        private struct Memo {
            var route = ""
            var status = -1
            var http2 = false
            var requests: Dictionary<RouteStatus, Int>.Index?
            var latency: Dictionary<String, Histogram>.Index?
            var upstream = ""
            var upstreamLatency: Dictionary<String, Histogram>.Index?
            var quotaRoute = ""
            var quotaStatus = -1
            var quotaDecision: Dictionary<RouteStatus, Int>.Index?
        }

        /// One quota decision, by route and outcome; the last key's slot is remembered, as for requests.
        mutating func countQuotaDecision(route: String, allowed: Bool) {
            let status = allowed ? 1 : 0
            if let i = memo.quotaDecision, memo.quotaStatus == status, memo.quotaRoute == route {
                quotaDecisions.values[i] += 1
                return
            }
            let key = RouteStatus(route: route, status: status)
            quotaDecisions[key, default: 0] += 1
            memo.quotaRoute = route; memo.quotaStatus = status
            memo.quotaDecision = quotaDecisions.index(forKey: key)
        }

        /// One request: its count by route and status, and its latency.
        mutating func count(route: String, status: Int, seconds: Double, http2: Bool) {
            if let r = memo.requests, let l = memo.latency, memo.status == status, memo.http2 == http2, memo.route == route {
                if http2 { h2Requests.values[r] += 1 } else { requests.values[r] += 1 }
                latency.values[l].observe(seconds)
                return
            }
            let key = RouteStatus(route: route, status: status)
            if http2 { h2Requests[key, default: 0] += 1 } else { requests[key, default: 0] += 1 }
            latency[route, default: Histogram()].observe(seconds)
            memo.route = route; memo.status = status; memo.http2 = http2
            memo.requests = http2 ? h2Requests.index(forKey: key) : requests.index(forKey: key)
            memo.latency = latency.index(forKey: route)
        }

        mutating func countUpstream(_ upstream: String, seconds: Double) {
            if let u = memo.upstreamLatency, memo.upstream == upstream {
                upstreamLatency.values[u].observe(seconds)
                return
            }
            upstreamLatency[upstream, default: Histogram()].observe(seconds)
            memo.upstream = upstream
            memo.upstreamLatency = upstreamLatency.index(forKey: upstream)
        }

        package mutating func merge(_ o: State) {
            for (k, v) in o.requests { requests[k, default: 0] += v }
            for (k, v) in o.h2Requests { h2Requests[k, default: 0] += v }
            for (k, v) in o.latency { latency[k, default: Histogram()].merge(v) }
            for (k, v) in o.upstreamLatency { upstreamLatency[k, default: Histogram()].merge(v) }
            for (k, v) in o.upstreamErrors { upstreamErrors[k, default: 0] += v }
            for (k, v) in o.timeouts { timeouts[k, default: 0] += v }
            parseErrors += o.parseErrors
            streamErrors += o.streamErrors
            for (k, v) in o.quotaDecisions { quotaDecisions[k, default: 0] += v }
            for (k, v) in o.storeErrors { storeErrors[k, default: 0] += v }
            for (k, v) in o.retries { retries[k, default: 0] += v }
            for (k, v) in o.truncations { truncations[k, default: 0] += v }
            for (k, v) in o.saves { saves[k, default: 0] += v }
            for (k, v) in o.truncatedMessages { truncatedMessages[k, default: 0] += v }
            for (k, v) in o.breakerTransitions { breakerTransitions[k, default: 0] += v }
            for (k, v) in o.usageEstimates { usageEstimates[k, default: 0] += v }
            for (k, v) in o.saveSanitized { saveSanitized[k, default: 0] += v }
        }
    }

    package let state = Lock<State>(State())
    package let bytesIn = Atomic<Int>(0)
    package let bytesOut = Atomic<Int>(0)

    /// One lock per request for everything the access log also records.
    public func recordRequest(route: String, status: Int, seconds: Double, http2: Bool = false) {
        state.withLock { $0.count(route: route, status: status, seconds: seconds, http2: http2) }
    }
    public func recordUpstream(_ upstream: String, seconds: Double) {
        state.withLock { $0.countUpstream(upstream, seconds: seconds) }
    }
    public func upstreamError(_ upstream: String, kind: String) {
        state.withLock { $0.upstreamErrors[UpstreamKind(upstream: upstream, kind: kind), default: 0] += 1 }
    }
    public func timeout(kind: String) { state.withLock { $0.timeouts[kind, default: 0] += 1 } }
    public func parseError() { state.withLock { $0.parseErrors += 1 } }
    public func quotaDecision(route: String, allowed: Bool) {
        state.withLock { $0.countQuotaDecision(route: route, allowed: allowed) }
    }
    public func storeError(kind: String) { state.withLock { $0.storeErrors[kind, default: 0] += 1 } }
    public func retry(upstream: String) { state.withLock { $0.retries[upstream, default: 0] += 1 } }
    /// What a save can come to (the `result` label; a fixed set keeps the label bounded).
    public static let saveResults = ["ok", "retried", "verified", "journaled", "invalid_output", "journal_failed", "replayed"]
    public func saveOutcome(_ result: String, route: String) {
        let index = Self.saveResults.firstIndex(of: result) ?? Self.saveResults.count - 1
        state.withLock { $0.saves[RouteStatus(route: route, status: index), default: 0] += 1 }
    }
    public func saveSanitized(route: String, changed: Int) { state.withLock { $0.saveSanitized[route, default: 0] += changed } }
    public func usageEstimated(route: String) { state.withLock { $0.usageEstimates[route, default: 0] += 1 } }
    public func truncation(route: String, dropped: Int) {
        state.withLock { $0.truncations[route, default: 0] += 1; $0.truncatedMessages[route, default: 0] += dropped }
    }
    public func breakerTransition(upstream: String, to: String) {
        state.withLock { $0.breakerTransitions[UpstreamKind(upstream: upstream, kind: to), default: 0] += 1 }
    }
    public func streamError() { state.withLock { $0.streamErrors += 1 } }
    public func bytesIn(_ n: Int) { bytesIn.add(n, ordering: .relaxed) }
    public func bytesOut(_ n: Int) { bytesOut.add(n, ordering: .relaxed) }
}

/// Cumulative histogram with the fixed buckets of `Metrics.latencyBuckets`.
struct Histogram {
    var counts = [Int](repeating: 0, count: Metrics.latencyBuckets.count)
    var sum = 0.0
    package var count = 0

    mutating func observe(_ v: Double) {
        sum += v; count += 1
        for (i, b) in Metrics.latencyBuckets.enumerated() where v <= b { counts[i] += 1; return }
    }

    package mutating func merge(_ o: Histogram) {
        for i in counts.indices { counts[i] += o.counts[i] }
        sum += o.sum; count += o.count
    }

    package func render(name: String, labels: String, into out: inout String) {
        var cumulative = 0
        for (i, b) in Metrics.latencyBuckets.enumerated() {
            cumulative += counts[i]
            out += "\(name)_bucket{\(labels),le=\"\(b)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(count)\n"
        out += "\(name)_sum{\(labels)} \(sum)\n\(name)_count{\(labels)} \(count)\n"
    }
}
