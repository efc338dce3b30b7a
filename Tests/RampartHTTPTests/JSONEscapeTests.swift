import Testing
@testable import RampartHTTP

/// JSON strings are escaped 8 bytes at a time; every byte that needs escaping is found wherever it
/// sits in a word, and the output is what escaping byte by byte gives.
@Suite struct JSONEscapeTests {
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for c in bytes {
            switch c {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    @Test func everyByteIsEscapedWhereverItSits() {
        for c: UInt8 in 0..<0x80 {
            for at in [0, 3, 7, 8, 13, 19, 22] {
                var bytes = Array("abcdefghijklmnopqrstuvw".utf8)   // 23 bytes: two words and a tail
                bytes[at] = c
                let s = String(decoding: bytes, as: UTF8.self)
                var out: [UInt8] = []
                JSONValue.writeString(s, to: &out)
                #expect(out == Self.reference(bytes), "byte \(c) at \(at)")
            }
        }
        var out: [UInt8] = []
        JSONValue.writeString("", to: &out)
        #expect(out == Array("\"\"".utf8))
        out = []
        JSONValue.writeString("é\"\u{1}ü", to: &out)   // UTF-8 passes as it is
        #expect(out == Array("\"é\\\"\\u0001ü\"".utf8))
    }
}
