import RampartHTTP

// libFuzzer target for the chunked transfer coding: ChunkedDecoder (request bodies from clients,
// response bodies from upstreams) and ChunkedEncoder (what Rampart writes). Invariants:
//  - decoding the input as a chunked body gives the same payload and the same end (finished after
//    the same byte count, failed with the same error, or still open) whether it arrives at once,
//    one byte at a time or in irregular pieces, through `decode` and through `next` (the step API
//    the connection state machines use), with default limits and with small ones; the decoder's
//    payload count matches what it handed out, and it never consumes more than it was given;
//  - decode(encode(x)) == x for the input as payload cut into irregular chunks, however the encoded
//    bytes arrive, finishing exactly at the last chunk whatever follows it;
//  - a chunk-size line the encoder writes is the size in lowercase hex, with no leading zeros.

enum End: Equatable {
    case finished(consumed: Int)
    case failed(HTTPParseError)
    case open(consumed: Int)
}

struct Decoded: Equatable {
    var payload: [UInt8] = []
    var end = End.open(consumed: 0)
}

func makeDecoder(small: Bool) -> ChunkedDecoder {
    small ? ChunkedDecoder(maxChunkSize: 16, maxTrailerBytes: 32) : ChunkedDecoder()
}

/// Through `decode`, which hands each payload run to a closure.
func decodeAll(_ pieces: [ArraySlice<UInt8>], small: Bool) -> Decoded {
    var d = makeDecoder(small: small)
    var out = Decoded()
    var consumed = 0
    for piece in pieces {
        let r = Array(piece).withUnsafeBytes { d.decode($0) { out.payload += $0 } }
        switch r {
        case .needMore(let c):
            require(c == piece.count, "needMore consumed \(c) of \(piece.count)")
            consumed += c
        case .finished(let c):
            require(c <= piece.count && d.isFinished, "finished consumed \(c) of \(piece.count)")
            out.end = .finished(consumed: consumed + c)
            require(d.payloadBytes == out.payload.count, "payloadBytes \(d.payloadBytes) for \(out.payload.count)")
            return out
        case .failure(let e):
            out.end = .failed(e)
            return out
        }
    }
    require(d.payloadBytes == out.payload.count, "payloadBytes \(d.payloadBytes) for \(out.payload.count)")
    out.end = .open(consumed: consumed)
    return out
}

/// Through `next`, one payload run per call, the way HTTP1ServerMachine reads a body.
func decodeStepwise(_ pieces: [ArraySlice<UInt8>], small: Bool) -> Decoded {
    var d = makeDecoder(small: small)
    var out = Decoded()
    var consumed = 0
    for piece in pieces {
        var rest = Array(piece)
        while true {
            let step = rest.withUnsafeBytes { d.next($0) }
            switch step {
            case .data(let r):
                require(!r.isEmpty && r.upperBound <= rest.count, "data range \(r) of \(rest.count)")
                out.payload += rest[r]
                consumed += r.upperBound
                rest.removeFirst(r.upperBound)
                continue
            case .needMore(let c):
                require(c == rest.count, "needMore consumed \(c) of \(rest.count)")
                consumed += c
            case .finished(let c):
                require(c <= rest.count, "finished consumed \(c) of \(rest.count)")
                out.end = .finished(consumed: consumed + c)
                return out
            case .failure(let e):
                out.end = .failed(e)
                return out
            }
            break
        }
    }
    out.end = .open(consumed: consumed)
    return out
}

func checkDecoding(_ input: [UInt8]) {
    let bytes = input.indices.map { input[$0...$0] }
    for small in [false, true] {
        let whole = decodeAll([input[...]], small: small)
        for (name, other) in [("byte-at-a-time", decodeAll(bytes, small: small)),
                              ("in pieces", decodeAll(irregularPieces(input), small: small)),
                              ("stepwise", decodeStepwise([input[...]], small: small)),
                              ("stepwise byte-at-a-time", decodeStepwise(bytes, small: small))] {
            require(other == whole, "one-shot \(whole) but \(name) \(other) (small limits: \(small)): \(show(input))")
        }
    }
}

func checkEncoding(_ input: [UInt8]) {
    var encoded: [UInt8] = []
    for piece in irregularPieces(input) where !piece.isEmpty {
        let start = encoded.count
        ChunkedEncoder.chunkHeader(size: piece.count, into: &encoded)
        let line = String(decoding: encoded[start..<(encoded.count - 2)], as: UTF8.self)
        require(line == String(piece.count, radix: 16), "chunk header \(show(encoded[start...])) for \(piece.count)")
        encoded += piece
        encoded += ChunkedEncoder.chunkTrailer
    }
    encoded += ChunkedEncoder.lastChunk
    let expected = Decoded(payload: input, end: .finished(consumed: encoded.count))
    // What follows the body (a pipelined request) is not read.
    let stream = encoded + input.prefix(5)
    for (name, got) in [("one-shot", decodeAll([stream[...]], small: false)),
                        ("byte-at-a-time", decodeAll(stream.indices.map { stream[$0...$0] }, small: false)),
                        ("in pieces", decodeAll(irregularPieces(stream), small: false))] {
        require(got == expected, "decode(encode(x)) \(name): \(got) from \(show(encoded)) for \(show(input))")
    }
    // Sizes far past any input: the header is still exact hex.
    if input.count >= 8 {
        let size = Int(input.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1) | 1
        var header: [UInt8] = []
        ChunkedEncoder.chunkHeader(size: size, into: &header)
        require(header == Array((String(size, radix: 16) + "\r\n").utf8), "chunk header \(show(header)) for \(size)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    checkDecoding(input)
    checkEncoding(input)
    return 0
}
