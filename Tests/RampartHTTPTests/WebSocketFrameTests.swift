import Testing
@testable import RampartHTTP

/// A frame as a peer would send it: masked when `mask` is given (clients), with the minimal length form.
func wsFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, mask: UInt32? = 0x1234_5678) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
    let m: UInt8 = mask == nil ? 0 : 0x80
    if payload.count < 126 { out.append(m | UInt8(payload.count)) }
    else if payload.count <= 0xFFFF { out += [m | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] }
    else { out.append(m | 127); for i in (0..<8).reversed() { out.append(UInt8((payload.count >> (i * 8)) & 0xFF)) } }
    guard let mask else { return out + payload }
    let key = [UInt8(mask >> 24), UInt8((mask >> 16) & 0xFF), UInt8((mask >> 8) & 0xFF), UInt8(mask & 0xFF)]
    return out + key + payload.enumerated().map { $1 ^ key[$0 & 3] }
}

/// Feeds `input` to a reader in pieces of `step` bytes; returns what went out and the events.
func relay(_ input: [UInt8], sender: WebSocketFrameParser.Sender, limit: Int = 1 << 20, rsv1: Bool = false, capture: Bool = false,
           step: Int = Int.max) -> (forwarded: [UInt8], events: [WebSocketReader.Event]) {
    var reader = WebSocketReader(parser: WebSocketFrameParser(sender: sender, maxMessageBytes: limit, allowsRSV1: rsv1), captureText: capture)
    var out: [UInt8] = [], events: [WebSocketReader.Event] = []
    var at = 0
    while at < input.count {
        let end = min(input.count, at + max(1, min(step, input.count)))
        let piece = Array(input[at..<end])
        let taken = piece.withUnsafeBytes { reader.read($0, forward: { out += $0 }, event: { events.append($0) }) }
        if reader.failed || taken < piece.count { break }
        at = end
    }
    return (out, events)
}

func failure(_ events: [WebSocketReader.Event]) -> WebSocketCloseCode? {
    for case .failure(let code, _) in events { return code }
    return nil
}

@Suite struct WebSocketFrameTests {
    /// Whatever the read sizes, a valid stream goes out byte for byte, frame by frame.
    @Test(arguments: [1, 2, 3, 7, 13, 64, Int.max])
    func validStreamsPassUnchangedInAnyPieces(step: Int) {
        let stream = wsFrame(1, Array("hello".utf8)) + wsFrame(2, [UInt8](repeating: 7, count: 300), fin: false)
            + wsFrame(9, Array("ping".utf8)) + wsFrame(0, [UInt8](repeating: 8, count: 70_000)) + wsFrame(8, [0x03, 0xE8])
        let (out, events) = relay(stream, sender: .client, step: step)
        #expect(out == stream)
        #expect(failure(events) == nil)
        #expect(events.filter { if case .frame = $0 { true } else { false } }.count == 5)
        #expect(events.contains(.close(code: 1000)))
    }

    @Test func maskingIsRequiredOfClientsAndRefusedFromServers() {
        #expect(failure(relay(wsFrame(1, [1], mask: nil), sender: .client).events) == .protocolError)
        #expect(failure(relay(wsFrame(1, [1]), sender: .server).events) == .protocolError)
        let server = wsFrame(1, [1], mask: nil)
        #expect(relay(server, sender: .server).forwarded == server)
    }

    @Test func controlFramesAreShortWholeAndPlain() {
        #expect(failure(relay(wsFrame(9, [UInt8](repeating: 0, count: 126)), sender: .client).events) == .protocolError)
        #expect(failure(relay(wsFrame(9, [1], fin: false), sender: .client).events) == .protocolError)
        #expect(failure(relay(wsFrame(9, [1], rsv1: true), sender: .client, rsv1: true).events) == .protocolError)
        #expect(failure(relay(wsFrame(8, [3]), sender: .client).events) == .protocolError, "a 1-byte close payload")
        #expect(failure(relay(wsFrame(3, [1]), sender: .client).events) == .protocolError, "reserved opcode")
        #expect(failure(relay(wsFrame(0xB, [1]), sender: .client).events) == .protocolError, "reserved control opcode")
        var reserved = wsFrame(1, [1]); reserved[0] |= 0x20
        #expect(failure(relay(reserved, sender: .client).events) == .protocolError, "RSV2")
    }

    @Test func fragmentsComeInOrder() {
        #expect(failure(relay(wsFrame(0, [1]), sender: .client).events) == .protocolError, "continuation without a message")
        let twoStarts = wsFrame(1, [1], fin: false) + wsFrame(1, [2])
        let (out, events) = relay(twoStarts, sender: .client)
        #expect(failure(events) == .protocolError)
        #expect(out == wsFrame(1, [1], fin: false), "the offending frame does not go out")
        // Control frames may come between fragments.
        let ok = wsFrame(1, [1], fin: false) + wsFrame(9, []) + wsFrame(0, [2])
        #expect(relay(ok, sender: .client).forwarded == ok)
    }

    /// The limit counts every fragment of a message and refuses at the header: nothing of the
    /// frame that would cross it goes out.
    @Test func messageLimitHoldsAcrossFragmentsBeforeAnyByteOfTheFrame() {
        let first = wsFrame(2, [UInt8](repeating: 1, count: 600), fin: false)
        let stream = first + wsFrame(0, [UInt8](repeating: 2, count: 500))
        let (out, events) = relay(stream, sender: .client, limit: 1000, step: 5)
        #expect(failure(events) == .messageTooBig)
        #expect(out == first)
        // Exactly the limit passes; a new message starts counting again.
        let exact = wsFrame(2, [UInt8](repeating: 1, count: 600), fin: false) + wsFrame(0, [UInt8](repeating: 2, count: 400))
            + wsFrame(2, [UInt8](repeating: 3, count: 1000))
        #expect(relay(exact, sender: .client, limit: 1000).forwarded == exact)
    }

    @Test func lengthEncodingsAreStrict() {
        var topBit = wsFrame(2, [UInt8](repeating: 0, count: 70_000)); topBit[2] |= 0x80
        #expect(failure(relay(topBit, sender: .client).events) == .protocolError)
        let nonMinimal16: [UInt8] = [0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4]
        #expect(failure(relay(nonMinimal16, sender: .client).events) == .protocolError)
        let nonMinimal64: [UInt8] = [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4]
        #expect(failure(relay(nonMinimal64, sender: .client).events) == .protocolError)
        let huge: [UInt8] = [0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]
        #expect(failure(relay(huge, sender: .client).events) == .messageTooBig)
    }

    @Test func compressionBitOnlyWhenNegotiatedAndOnlyOnTheFirstFrame() {
        let compressed = wsFrame(1, [1], rsv1: true)
        #expect(failure(relay(compressed, sender: .client).events) == .protocolError)
        #expect(relay(compressed, sender: .client, rsv1: true).forwarded == compressed)
        let badContinuation = wsFrame(1, [1], fin: false, rsv1: true) + wsFrame(0, [2], rsv1: true)
        #expect(failure(relay(badContinuation, sender: .client, rsv1: true).events) == .protocolError)
    }

    /// Close codes are read through the mask; a text message is captured whole across fragments
    /// and control frames, only when asked for.
    @Test func closeCodesAndCapturedText() {
        let close = wsFrame(8, [0x0F, 0xA1] + Array("bye".utf8))
        #expect(relay(close, sender: .client, step: 1).events.contains(.close(code: 4001)))
        #expect(relay(wsFrame(8, []), sender: .client).events.contains(.close(code: 1005)))
        let text = wsFrame(1, Array("{\"type\":".utf8), fin: false, mask: nil) + wsFrame(10, [], mask: nil)
            + wsFrame(0, Array("\"response.done\"}".utf8), mask: nil)
        let captured = relay(text, sender: .server, capture: true, step: 3).events
        #expect(captured.contains(.text(Array("{\"type\":\"response.done\"}".utf8))))
        #expect(!relay(text, sender: .server).events.contains { if case .text = $0 { true } else { false } })
        let masked = relay(wsFrame(1, Array("hi".utf8)), sender: .client, capture: true).events
        #expect(masked.contains(.text(Array("hi".utf8))), "captured text is unmasked")
    }

    @Test func readingStopsAtAFrameBoundaryWhenAsked() {
        var reader = WebSocketReader(parser: WebSocketFrameParser(sender: .server, maxMessageBytes: 1000))
        let one = wsFrame(2, [1, 2, 3], mask: nil), two = wsFrame(2, [4], mask: nil)
        var out: [UInt8] = []
        let taken = (one + two).withUnsafeBytes { buf in
            reader.read(UnsafeRawBufferPointer(rebasing: buf[0..<4]), forward: { out += $0 }, event: { _ in })
        }
        #expect(taken == 4 && !reader.atFrameBoundary)
        reader.stopAtBoundary = true
        let rest = Array((one + two)[4...])
        let taken2 = rest.withUnsafeBytes { reader.read($0, forward: { out += $0 }, event: { _ in }) }
        #expect(out == one && taken2 == one.count - 4 && reader.atFrameBoundary)
    }

    @Test func rampartsOwnFramesAreValid() {
        let reason = String(repeating: "é", count: 100)   // 200 bytes of UTF-8: cut to fit on a character boundary
        let close = WebSocketFrames.close(.goingAway, reason: reason, mask: nil)
        #expect(close.count == 2 + 2 + 122 && close[1] == 124)
        #expect(String(validating: close[4...], as: UTF8.self) != nil)
        let masked = WebSocketFrames.close(.messageTooBig, reason: "too big", mask: 0xA1B2_C3D4)
        #expect(relay(masked, sender: .client).events.contains(.close(code: 1009)))
        #expect(failure(relay(WebSocketFrames.ping([1, 2], mask: nil), sender: .server).events) == nil)
    }

    @Test func handshakesAreChecked() {
        func head(_ fields: [(String, String)], method: String = "GET", connection: [String] = ["upgrade"]) -> HTTPRequestHead {
            HTTPRequestHead(method: method, target: "/ws", headers: HTTPHeaders(fields.map { HTTPField(name: $0.0, value: $0.1) }),
                            connectionTokens: connection)
        }
        let good: [(String, String)] = [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
        #expect(WebSocketHandshake.asksForWebSocket(head(good)))
        #expect(WebSocketHandshake.problem(head(good)) == nil)
        #expect(!WebSocketHandshake.asksForWebSocket(head([("Upgrade", "h2c")])))
        #expect(WebSocketHandshake.problem(head(good, method: "POST")) != nil)
        #expect(WebSocketHandshake.problem(head(good, connection: [])) != nil)
        #expect(WebSocketHandshake.problem(head([("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "short")])) != nil)
        #expect(WebSocketHandshake.problem(head([("Upgrade", "websocket"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])) != nil)
        #expect(WebSocketHandshake.hasToken("keep-alive, Upgrade", "upgrade"))
    }
}
