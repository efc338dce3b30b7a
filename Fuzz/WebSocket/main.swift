import RampartHTTP

// libFuzzer target for the WebSocket relay's reading of one direction: WebSocketFrameParser under
// WebSocketReader (every byte a client or upstream sends through a socket passes them). Input:
// byte 0 picks the sender (bit 0: client frames, masked; else server), whether an extension
// allows RSV1 (bit 1) and whether text messages are captured (bit 2); byte 1 the message limit
// (1 + byte * 97 bytes); the rest is the stream. Invariants:
//  - what goes out is the input's own bytes, in order, unchanged: a prefix of it;
//  - fed at once, one byte at a time or in irregular pieces, the same bytes go out and the same
//    events (frames, closes, captured text, failure) are reported;
//  - without a failure everything goes out except a trailing incomplete frame header (< 14
//    bytes); after one, what went out ends at a frame boundary and reads again without failure
//    and with the same frames: the peer never gets a broken or cut frame from Rampart;
//  - no captured text message is longer than the limit.

struct Run: Equatable {
    var out: [UInt8] = []
    var events: [WebSocketReader.Event] = []
    var failed = false
}

func read(_ pieces: [ArraySlice<UInt8>], sender: WebSocketFrameParser.Sender, limit: Int, rsv1: Bool, capture: Bool) -> Run {
    var reader = WebSocketReader(parser: WebSocketFrameParser(sender: sender, maxMessageBytes: limit, allowsRSV1: rsv1), captureText: capture)
    var run = Run()
    for piece in pieces {
        let bytes = Array(piece)
        let taken = bytes.withUnsafeBytes { reader.read($0, forward: { run.out += $0 }, event: { run.events.append($0) }) }
        require(taken <= bytes.count, "took \(taken) of \(bytes.count)")
        if reader.failed { break }
        require(taken == bytes.count, "stopped at \(taken) of \(bytes.count) without a failure")
    }
    run.failed = reader.failed
    return run
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard input.count >= 2 else { return 0 }
    let sender: WebSocketFrameParser.Sender = input[0] & 1 != 0 ? .client : .server
    let rsv1 = input[0] & 2 != 0, capture = input[0] & 4 != 0
    let limit = 1 + Int(input[1]) * 97
    let stream = Array(input[2...])
    let whole = read([stream[...]], sender: sender, limit: limit, rsv1: rsv1, capture: capture)
    require(stream.starts(with: whole.out), "the output is not the input's prefix: \(show(whole.out)) of \(show(stream))")
    let bytewise = read(stream.indices.map { stream[$0...$0] }, sender: sender, limit: limit, rsv1: rsv1, capture: capture)
    require(bytewise == whole, "one-shot \(whole) but byte-at-a-time \(bytewise): \(show(stream))")
    let pieces = read(irregularPieces(stream), sender: sender, limit: limit, rsv1: rsv1, capture: capture)
    require(pieces == whole, "one-shot \(whole) but in pieces \(pieces): \(show(stream))")
    if !whole.failed {
        require(stream.count - whole.out.count < 14, "held back \(stream.count - whole.out.count) bytes without a failure")
    } else {
        let again = read([whole.out[...]], sender: sender, limit: limit, rsv1: rsv1, capture: capture)
        require(!again.failed && again.out == whole.out, "what went out before the failure does not read cleanly: \(show(whole.out))")
        require(again.events == whole.events.filter { if case .failure = $0 { false } else { true } }, "other events the second time")
    }
    for case .text(let t) in whole.events { require(t.count <= limit, "captured \(t.count) bytes over the limit \(limit)") }
    return 0
}
