import RampartHTTP
import Testing

@Suite struct ChunkedDecoderTests {
    @Test func decodesSimpleBody() {
        let body = latin1("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        var d = ChunkedDecoder()
        let (payload, result) = decodeChunked(body, decoder: &d)
        #expect(payload == Array("hello world".utf8))
        #expect(result == .finished(consumed: body.count))
        #expect(d.isFinished)
        #expect(d.payloadBytes == 11)
        #expect(d.decode([1, 2, 3]) { _ in } == .finished(consumed: 0))
    }

    static let withExtensionsAndTrailers = latin1(
        "A;name=value;flag\r\n0123456789\r\n"
            + "00003 ; q=\"a \\\"quoted\\\" ;x\"\t;  k = v\r\nabc\r\n"
            + "1;ext\r\n\r\r\n"
            + "0;last=\"yes\"\r\nX-Checksum: abc123\r\nX-Other:\tv v\r\n\r\n")

    @Test func extensionsAndTrailersOneByteAtATime() {
        let (payload, consumed, result) = decodeChunkedBytewise(Self.withExtensionsAndTrailers)
        #expect(payload == Array("0123456789abc\r".utf8))
        #expect(consumed == Self.withExtensionsAndTrailers.count)
        #expect(result == .finished(consumed: 1))
    }

    @Test func everyTwoWaySplitDecodesTheSame() {
        let body = Self.withExtensionsAndTrailers
        for k in 0...body.count {
            var d = ChunkedDecoder()
            var out: [UInt8] = []
            let r1 = d.decode(Array(body[..<k])) { out.append(contentsOf: $0) }
            let r2 = d.decode(Array(body[k...])) { out.append(contentsOf: $0) }
            #expect(out == Array("0123456789abc\r".utf8), "split \(k)")
            if k == body.count {
                #expect(r1 == .finished(consumed: k))
            } else {
                #expect(r1 == .needMore(consumed: k))
                #expect(r2 == .finished(consumed: body.count - k))
            }
        }
    }

    @Test func stopsAtEndOfBodyLeavingNextMessage() {
        let body = latin1("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
        var d = ChunkedDecoder()
        let (payload, result) = decodeChunked(body, decoder: &d)
        #expect(payload == Array("abc".utf8))
        #expect(result == .finished(consumed: 13))
    }

    @Test func payloadIsSlicedNotCopiedPerByte() {
        let body = latin1("400\r\n" + String(repeating: "x", count: 1024) + "\r\n0\r\n\r\n")
        var d = ChunkedDecoder()
        var runs = 0
        _ = d.decode(body) { _ in runs += 1 }
        #expect(runs == 1)
    }

    @Test(arguments: ["a", "A", "00000000000000a", "fffff"])
    func acceptedSizes(size: String) {
        let n = Int(size, radix: 16)!
        let body = latin1(size + "\r\n") + [UInt8](repeating: 0x61, count: n) + latin1("\r\n0\r\n\r\n")
        var d = ChunkedDecoder()
        #expect(decodeChunked(body, decoder: &d).1 == .finished(consumed: body.count))
    }

    @Test(arguments: [
        "0x5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n", "-1\r\n", "0_2e\r\n", " 5\r\n", "5 \r\n", "\r\n",
        "0000000000000001\r\n", "1000000000000000000\r\n", "g\r\n", "5\nhello", "5\rhello",
        "3;\r\nabc", "3;=v\r\nabc", "3;a=\r\nabc", "3;a=\"x\r\nabc", "3;a b\r\n", "3;a=\"\u{1}\"\r\n", "3;a=b c\r\n",
        "3\r\nabcd\r\n", "3\r\nabc\n", "3\r\nabc\r\r\n", "0\r\n\n", "0\r\nX: a\r\n b\r\n\r\n", "0\r\nX : a\r\n\r\n",
        "0\r\nX: a\nY: b\r\n\r\n", "0\r\nX: a\u{0}\r\n\r\n", "0\r\n: a\r\n\r\n", "0\r\n\r\r",
    ])
    func rejectedBodies(body: String) {
        let bytes = latin1(body)
        var d = ChunkedDecoder()
        let result = decodeChunked(bytes, decoder: &d).1
        #expect(result.failureValue?.status == 400, "\(body.debugDescription): \(result)")
        #expect(decodeChunkedBytewise(bytes).result.failureValue?.status == 400)
        // A failed decoder stays failed.
        #expect(d.decode(latin1("0\r\n\r\n")) { _ in }.failureValue?.status == 400)
    }

    @Test func defaultMaxChunkSizeIsInt32Max() {
        var d = ChunkedDecoder()
        #expect(d.decode(latin1("7fffffff\r\n")) { _ in } == .needMore(consumed: 10))
        var d2 = ChunkedDecoder()
        #expect(d2.decode(latin1("80000000\r\n")) { _ in }.failureValue?.status == 400)
    }

    @Test func maxChunkSizeIsEnforced() {
        var d = ChunkedDecoder(maxChunkSize: 16)
        #expect(d.decode(latin1("10\r\n")) { _ in } == .needMore(consumed: 4))
        var d2 = ChunkedDecoder(maxChunkSize: 16)
        #expect(d2.decode(latin1("11\r\n")) { _ in }.failureValue?.status == 400)
    }

    @Test func trailerSectionIsLimited() {
        var d = ChunkedDecoder(maxTrailerBytes: 16)
        let r = d.decode(latin1("0\r\nX-Long-Trailer: 1234567890\r\n\r\n")) { _ in }
        #expect(r.failureValue?.status == 431)
        var ok = ChunkedDecoder(maxTrailerBytes: 16)
        #expect(ok.decode(latin1("0\r\nX-T: 1234567\r\n\r\n")) { _ in } == .finished(consumed: 19))
    }

    @Test func hugeExtensionIsRefused() {
        var d = ChunkedDecoder()
        let r = d.decode(latin1("1;x=" + String(repeating: "a", count: 5000) + "\r\n")) { _ in }
        #expect(r.failureValue?.status == 400)
    }
}

@Suite struct ChunkedEncoderTests {
    @Test(arguments: [(1, "1"), (9, "9"), (10, "a"), (255, "ff"), (256, "100"), (4096, "1000"), (Int.max, "7fffffffffffffff")])
    func chunkHeader(size: Int, hex: String) {
        var out: [UInt8] = [0x2A]
        ChunkedEncoder.chunkHeader(size: size, into: &out)
        #expect(out == [0x2A] + Array((hex + "\r\n").utf8))
    }

    @Test func constants() {
        #expect(ChunkedEncoder.chunkTrailer == Array("\r\n".utf8))
        #expect(ChunkedEncoder.lastChunk == Array("0\r\n\r\n".utf8))
    }

    @Test(arguments: [[1], [5, 7, 300], [4096, 1, 65536], Array(repeating: 3, count: 50)])
    func roundTripThroughDecoder(sizes: [Int]) {
        var wire: [UInt8] = []
        var expected: [UInt8] = []
        for (k, size) in sizes.enumerated() {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ k) }
            expected += data
            ChunkedEncoder.chunkHeader(size: size, into: &wire)
            wire += data
            wire += ChunkedEncoder.chunkTrailer
        }
        wire += ChunkedEncoder.lastChunk
        var d = ChunkedDecoder()
        let (payload, result) = decodeChunked(wire, decoder: &d)
        #expect(payload == expected)
        #expect(result == .finished(consumed: wire.count))
        #expect(decodeChunkedBytewise(wire).payload == expected)
    }
}
