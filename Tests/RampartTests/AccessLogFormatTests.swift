import RampartHTTP
@testable import RampartProxy
import Foundation
import Testing

/// The access line is written as bytes; these pin its numbers and strings to what the String
/// formatting it replaced printed, so log pipelines see the same text.
@Suite struct AccessLogFormatTests {
    @Test func millisecondsPrintAsBefore() {
        for v in [0, 0.0004, 0.0005, 0.001, 0.004, 0.05, 0.5, 1, 1.5, 12, 12.25, 99.999, 1234.5678, 86_400_000.123] {
            var o: [UInt8] = []
            AccessLog.writeMs(v, to: &o)
            #expect(String(decoding: o, as: UTF8.self) == AccessLog.ms(v), "\(v)")
        }
    }

    /// A duration that is not a number (a clock gone wrong) logs as null instead of trapping.
    @Test func notANumberLogsAsNull() {
        for v in [Double.nan, .infinity, -.infinity, 1e300] {
            var o: [UInt8] = []
            AccessLog.writeMs(v, to: &o)
            #expect(String(decoding: o, as: UTF8.self) == "null", "\(v)")
        }
    }

    @Test func integersPrintAsBefore() {
        for v in [0, 7, 10, 429, -1, Int.max, Int.min] {
            var o: [UInt8] = []
            AccessLog.writeInt(v, to: &o)
            #expect(String(decoding: o, as: UTF8.self) == String(v))
        }
    }

    @Test func stringsAreEscapedInRuns() throws {
        var o: [UInt8] = []
        JSONValue.writeString("plain \"quoted\" back\\slash\nline\u{1}end é", to: &o)
        let text = String(decoding: o, as: UTF8.self)
        #expect(text == #""plain \"quoted\" back\\slash\nline\u0001end é""#)
        #expect(try JSONSerialization.jsonObject(with: Data(o), options: .fragmentsAllowed) as? String == "plain \"quoted\" back\\slash\nline\u{1}end é")
    }

    /// Whole lines, pinned byte for byte (nulls, escapes, raw save objects, a negative count, a
    /// long duration), so a faster encoder can be checked against this one.
    @Test func wholeLinesArePinnedByteForByte() throws {
        let expected = [
            #"""
{"time":"2026-12-06T17:04:05.007Z","type":"access","request_id":"r-1","method":"GET","path":"/","query":null,"route":"default","user":null,"status":200,"upstream_status":200,"bytes_in":0,"bytes_out":100,"duration_ms":1.234,"upstream_ms":0.5,"retries":0,"breaker":"closed","quota_remaining":null,"truncated":null,"save":null,"peer":"127.0.0.1","error":null,"reason":null}
"""#,
            #"""
{"time":"2026-12-06T17:04:05.999Z","type":"access","request_id":"r-\"2\"","method":"POST","path":"/api/ai/chat\\x","query":"a=1&token=[redacted]","route":"chat","user":"alice\u0001é","status":429,"upstream_status":null,"bytes_in":4096,"bytes_out":211,"duration_ms":0.0,"upstream_ms":null,"retries":2,"breaker":null,"quota_remaining":0,"truncated":"3 messages","save":{"result":"saved","attempts":1},"peer":"::1","error":"RATE_LIMITED","reason":"line\nbreak\ttab"}
"""#,
            #"""
{"time":"2026-12-06T17:04:05.000Z","type":"access","request_id":"","method":null,"path":null,"query":"","route":null,"user":null,"status":400,"upstream_status":null,"bytes_in":0,"bytes_out":0,"duration_ms":86400000.123,"upstream_ms":12.0,"retries":0,"breaker":null,"quota_remaining":-5,"truncated":null,"save":null,"peer":"","error":"BAD_REQUEST","reason":null}
"""#
        ]
        #expect(AccessLineSamples.records.count == expected.count)
        for ((record, query, millis), line) in zip(AccessLineSamples.records, expected) {
            var o: [UInt8] = []
            AccessLog.encode(record, query: query, time: AccessLineSamples.time, millis: millis, into: &o)
            #expect(String(decoding: o, as: UTF8.self) == line + "\n")
            _ = try JSONSerialization.jsonObject(with: Data(o))
        }
    }
}
