@testable import RampartProxy

/// Records whose access lines are pinned byte for byte in `AccessLogFormatTests`.
enum AccessLineSamples {
    static let time = Array("2026-12-06T17:04:05".utf8)
    static var records: [(AccessRecord, String?, Int)] { [
        (AccessRecord(requestID: "r-1", method: "GET", path: "/", route: "default", user: nil, status: 200, upstreamStatus: 200,
                      bytesIn: 0, bytesOut: 100, durationMs: 1.234, upstreamMs: 0.5, breaker: "closed", quotaRemaining: nil,
                      truncated: nil, error: nil, peer: "127.0.0.1"), nil, 7),
        (AccessRecord(requestID: "r-\"2\"", method: "POST", path: "/api/ai/chat\\x", route: "chat", user: "alice\u{1}é",
                      status: 429, upstreamStatus: nil, bytesIn: 4096, bytesOut: 211, durationMs: 0.0004, upstreamMs: nil,
                      retries: 2, breaker: nil, quotaRemaining: 0, truncated: "3 messages", save: #"{"result":"saved","attempts":1}"#,
                      error: "RATE_LIMITED", reason: "line\nbreak\ttab", peer: "::1"), "a=1&token=[redacted]", 999),
        (AccessRecord(requestID: "", method: nil, path: nil, route: nil, user: nil, status: 400, upstreamStatus: nil,
                      bytesIn: 0, bytesOut: 0, durationMs: 86_400_000.123, upstreamMs: 12, breaker: nil, quotaRemaining: -5,
                      truncated: nil, error: "BAD_REQUEST", peer: ""), "", 0),
    ] }
}
