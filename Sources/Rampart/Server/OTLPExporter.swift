import Foundation
import RampartHTTP
import RampartLoop
import RampartProxy

/// Sends finished request spans to an OpenTelemetry collector as OTLP/HTTP JSON (`POST
/// /v1/traces`), from a thread of its own: loops only append to a bounded queue. A batch goes out
/// every second, or at once when 512 spans wait; a collector that is down or slow costs spans
/// (dropped past 10,000 queued, counted and logged), never a request's time. The endpoint and
/// service name are read from the live config at each batch, so a reload changes them.
final class OTLPExporter: SpanSink, @unchecked Sendable {
    private let queue = Lock<(spans: [SpanRecord], dropped: Int)>(([], 0))
    private let wake = DispatchSemaphore(value: 0)
    private let source = Lock<(@Sendable () -> TracingConfig?)?>(nil)
    private let started = Lock<Bool>(false)
    static let maxQueued = 10_000
    static let batch = 512

    /// Where the live `tracing` section is read (the gateway's current config).
    func follow(_ config: @escaping @Sendable () -> TracingConfig?) { source.withLock { $0 = config } }
    private func config() -> TracingConfig? { source.withLock { $0 }?() }

    func export(_ span: SpanRecord) {
        let count = queue.withLock { q -> Int in
            if q.spans.count >= Self.maxQueued { q.dropped += 1; return -1 }
            q.spans.append(span)
            return q.spans.count
        }
        if count == 1 { startIfNeeded() }
        if count == Self.batch { wake.signal() }
    }

    private func startIfNeeded() {
        let first = started.withLock { s -> Bool in defer { s = true }; return !s }
        guard first else { return }
        let thread = Thread { [self] in run() }
        thread.name = "rampart-otlp"
        thread.start()
    }

    private func run() {
        let curl = BlockingCurl()
        var lastWarning = 0.0
        while true {
            _ = wake.wait(timeout: .now() + 1)
            let (spans, dropped) = queue.withLock { q -> ([SpanRecord], Int) in
                let out = (q.spans, q.dropped)
                q.spans = []; q.dropped = 0
                return out
            }
            guard let tracing = config() else { continue }
            if dropped > 0 { warn("trace spans dropped: the export queue was full", [("dropped", String(dropped))], &lastWarning) }
            var rest = spans[...]
            while !rest.isEmpty {
                let chunk = Array(rest.prefix(Self.batch))
                rest = rest.dropFirst(Self.batch)
                if let problem = post(curl, tracing.otlpEndpoint, SpanRecord.request(chunk, serviceName: tracing.serviceName)) {
                    warn("trace export failed", [("endpoint", JSONText.quote(tracing.otlpEndpoint)), ("error", JSONText.quote(problem)),
                                                  ("spans", String(chunk.count))], &lastWarning)
                }
            }
        }
    }

    /// One POST; nil when the collector answered 2xx.
    private func post(_ curl: BlockingCurl, _ url: String, _ body: String) -> String? {
        switch curl.perform(url, timeoutMs: 5000, body: Array(body.utf8), headers: ["Content-Type: application/json"]) {
        case .failure(let f): return f.reason
        case .success(let status): return (200..<300).contains(status) ? nil : "HTTP \(status)"
        }
    }

    /// At most one warning a minute: a collector that is down must not flood the log.
    private func warn(_ message: String, _ fields: [(String, String)], _ last: inout Double) {
        let now = Date().timeIntervalSince1970
        guard now - last >= 60 else { return }
        last = now
        AccessLog(loop: nil, enabled: true, level: .info).event(.warn, message, fields)
    }
}
