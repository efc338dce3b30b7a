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
        for n in values {
            var out = [UInt8](repeating: 0xEE, count: 24)
            let written = out.withUnsafeMutableBufferPointer { writeDecimal(n, at: $0.baseAddress!) - $0.baseAddress! }
            #expect(written == decimalDigitCount(n))
            #expect(Array(out[0..<written]) == Array(String(n).utf8), "\(n)")
            #expect(out[written...].allSatisfy { $0 == 0xEE })
        }
    }
}
