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
}
