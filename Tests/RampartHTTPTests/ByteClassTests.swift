import Testing
@testable import RampartHTTP

/// The byte classes the parsers scan with, checked over every byte value.
@Suite struct ByteClassTests {
    /// The tchar map a header name is scanned with says what the RFC 9110 masks say, byte for byte.
    @Test func theTokenMapAgreesWithTheMasks() {
        for b in 0...255 {
            let byte = UInt8(b)
            #expect(ByteClass.isTChar(byte) == ByteClass.inMask(byte, ByteClass.tcharLow, ByteClass.tcharHigh), "byte \(b)")
        }
        let tchars = Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        #expect((0...255).filter { ByteClass.isTChar(UInt8($0)) }.count == tchars.count)
        #expect(tchars.allSatisfy(ByteClass.isTChar))
    }

    /// The 8-byte value scan stops exactly at the first byte that is not plain in a field value,
    /// wherever it sits in a word, and reports obs-text only when it lies before that byte.
    @Test func theValueScanStopsAtTheFirstSpecialByte() {
        for stop: UInt8 in [CR, LF, HTAB, 0x00, 0x1F, 0x7F] {
            for at in 0..<20 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 20)
                bytes[at] = stop
                var high = false
                let found = bytes.withUnsafeBytes { $0.skipPlainFieldBytes(from: 0, sawHighBit: &high) }
                // The scan works in whole words: a stop in the last partial word is left to the byte loop.
                #expect(found == (at < 16 ? at : 16), "stop \(stop) at \(at): \(found)")
                #expect(!high)
            }
        }
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 16)
        bytes[5] = CR; bytes[6] = 0xC3
        var high = false
        _ = bytes.withUnsafeBytes { $0.skipPlainFieldBytes(from: 0, sawHighBit: &high) }
        #expect(!high, "obs-text after the stop belongs to the next line")
        bytes[4] = 0xC3
        _ = bytes.withUnsafeBytes { $0.skipPlainFieldBytes(from: 0, sawHighBit: &high) }
        #expect(high)
    }

    /// The inline copy used for header names and values moves every length whole, the word
    /// boundaries (4, 8, 16, 32) included, and writes nothing past the end.
    @Test func theShortCopyCopiesEveryLength() {
        let source = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        for n in 0...48 {
            var out = [UInt8](repeating: 0xEE, count: 64)
            source.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { copyShortBytes($0.baseAddress!, src.baseAddress!, n) } }
            #expect(Array(out[0..<n]) == Array(source[0..<n]), "length \(n)")
            #expect(out[n...].allSatisfy { $0 == 0xEE }, "length \(n) wrote past its end")
        }
    }

    /// The one decimal writer says what `String(n)` says, at every digit count.
    @Test func decimalsAreWrittenAsStringDoes() {
        var values: [UInt] = [0, 9, 10, 99, 100, UInt.max]
        var p: UInt = 1
        for _ in 0..<19 { values.append(p - 1); values.append(p); p &*= 10 }
        var state: UInt = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {   // and values of every width, odd and even digit counts alike
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            values.append(state >> (state % 64))
        }
        for n in values {
            var out = [UInt8](repeating: 0xEE, count: 24)
            let written = out.withUnsafeMutableBufferPointer { writeDecimal(n, at: $0.baseAddress!) - $0.baseAddress! }
            #expect(written == decimalDigitCount(n))
            #expect(Array(out[0..<written]) == Array(String(n).utf8), "\(n)")
            #expect(out[written...].allSatisfy { $0 == 0xEE })
        }
    }
}

/// The word-at-a-time search for a response head's end against a byte-by-byte one, over heads
/// made of CR, LF, bytes next to LF (0x09, 0x0B: the false flags of a loose zero-byte test) and
/// letters, at every length up to 40.
@Suite struct ResponseHeadEndTests {
    static func naive(_ b: [UInt8]) -> String {
        var statusLF = -1
        for i in b.indices where b[i] == LF {
            if i == 0 || b[i - 1] != CR { return "bareLF" }
            if statusLF < 0 { statusLF = i } else if b[i - 2] == LF { return "end \(statusLF) \(i + 1)" }
        }
        return "incomplete"
    }

    static func scanned(_ b: [UInt8]) -> String {
        b.withUnsafeBytes { raw in
            switch raw.responseHeadEnd(to: raw.count) {
            case .bareLF: return "bareLF"
            case .incomplete: return "incomplete"
            case .end(let lf, let end): return "end \(lf) \(end)"
            }
        }
    }

    @Test func agreesWithAByteByByteSearch() {
        let alphabet: [UInt8] = [CR, LF, 0x09, 0x0B, 0x41, 0x20]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0...40 {
            for _ in 0..<400 {
                var bytes: [UInt8] = []
                for _ in 0..<length {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    bytes.append(alphabet[Int(state % UInt64(alphabet.count))])
                }
                #expect(Self.scanned(bytes) == Self.naive(bytes), "\(bytes)")
            }
            // Well-formed heads end where their empty line does, at every offset within a word.
            let head = Array(repeating: UInt8(0x41), count: length) + Array("\r\nA: b\r\n\r\nbody\n".utf8)
            #expect(Self.scanned(head) == Self.naive(head))
        }
    }
}
