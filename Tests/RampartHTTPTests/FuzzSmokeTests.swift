import RampartHTTP
import Testing

/// Deterministic generator so a failing mutation is reproducible from its iteration number.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let fuzzSeeds: [[UInt8]] = [
    "GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=\"v\"\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    "PUT / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    "\r\nOPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
].map { Array($0.utf8) }

let interestingBytes: [UInt8] = [0x00, 0x09, 0x0A, 0x0B, 0x0D, 0x20, 0x22, 0x23, 0x2C, 0x3A, 0x3B, 0x7F, 0x80, 0xFF, 0x30, 0x61]

func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = input
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let pos = Int.random(in: 0...b.count, using: &rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0 where pos < b.count: b[pos] = interestingBytes.randomElement(using: &rng)!
        case 1: b.insert(interestingBytes.randomElement(using: &rng)!, at: pos)
        case 2 where pos < b.count: b.remove(at: pos)
        default: b.insert(contentsOf: Array("\r\n".utf8), at: pos)
        }
    }
    return b
}

@Suite struct FuzzSmokeTests {
    @Test func mutatedRequestsKeepParserInvariants() {
        var rng = SplitMix64(state: 0x5EED)
        for iteration in 0..<20_000 {
            let input = mutate(fuzzSeeds[iteration % fuzzSeeds.count], &rng)
            let result = HTTPRequestParser.parseHead(input)
            guard case .complete(let head, let consumed) = result else { continue }
            #expect(consumed <= input.count)
            #expect(Array(input[(consumed - 4)..<consumed]) == Array("\r\n\r\n".utf8), "iteration \(iteration)")
            #expect(head.target.first == "/" || head.target == "*")
            // Bytes after the head never change how the head is read.
            #expect(HTTPRequestParser.parseHead(Array(input[..<consumed])) == result)
            #expect(HTTPRequestParser.parseHead(input + Array("junk\n\r\0".utf8)) == result)
            if head.framing == .chunked {
                let body = Array(input[consumed...])
                var d = ChunkedDecoder()
                var out: [UInt8] = []
                let whole = d.decode(body) { out.append(contentsOf: $0) }
                let bytewise = decodeChunkedBytewise(body)
                #expect(bytewise.payload == out, "iteration \(iteration)")
                switch whole {
                case .finished(let c): #expect(bytewise.consumed == c)
                case .failure(let e): #expect(bytewise.result.failureValue == e)
                case .needMore: #expect(bytewise.result == .needMore(consumed: 1) || body.isEmpty)
                }
            }
        }
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(state: 42)
        var sse = SSEParser()
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in interestingBytes.randomElement(using: &rng)! }
            _ = HTTPRequestParser.parseHead(bytes, limits: HTTPLimits(maxHeaderBytes: 48, maxURLBytes: 16))
            var d = ChunkedDecoder()
            _ = d.decode(bytes) { _ in }
            sse.feed(bytes) { _ in }
        }
    }
}

let responseSeeds: [[UInt8]] = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"v\"\r\nContent-Length: 12\r\n\r\n",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
].map { Array($0.utf8) }

@Suite struct ResponseFuzzSmokeTests {
    /// Whatever head the parser accepts, what the client-facing machine makes of it is
    /// well-formed HTTP/1.1: read back, its framing is exactly the one the machine sends the body
    /// with, and 1xx/204/304 carry no length or coding. libcurl's string check agrees.
    @Test func mutatedResponseHeadsAreRelayedWellFramed() {
        var rng = SplitMix64(state: 0xF4A3)
        var checked = 0
        for iteration in 0..<20_000 {
            let input = mutate(responseSeeds[iteration % responseSeeds.count], &rng)
            let method = iteration % 3 == 0 ? "HEAD" : "GET"
            let parsed = input.withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: method) }
            guard case .complete(let upstream, _, _, _) = parsed, upstream.status != 101 else { continue }
            guard case .success = ResponseFramingRules.declared(upstream.headers, versionMinor: upstream.versionMinor) else {
                Issue.record("iteration \(iteration): the string check refuses what the parser took"); continue
            }
            let wire = ServerWire()
            wire.receive("\(method) / HTTP/1.\(iteration % 4 == 1 ? 0 : 1)\r\nHost: x\r\n\r\n")
            var head = upstream
            guard wire.machine.responseHead(&head, shuttingDown: false) else { Issue.record("no head"); continue }
            let reread = head.serialized().withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: method) }
            guard case .complete(let back, let framing, _, _) = reread else {
                Issue.record("iteration \(iteration): the relayed head does not parse: \(reread)"); continue
            }
            checked += 1
            switch wire.machine.responseFraming {
            case .none: #expect(framing == .none, "iteration \(iteration)")
            case .identity: #expect(framing == .contentLength(wire.machine.bodyRemaining), "iteration \(iteration)")
            case .chunked: #expect(framing == .chunked, "iteration \(iteration)")
            case .closeDelimited: #expect(framing == .untilClose, "iteration \(iteration)")
            }
            if ResponseFramingRules.forbidsLength(status: back.status) {
                #expect(!back.headers.contains("Content-Length") && !back.headers.contains("Transfer-Encoding"), "iteration \(iteration)")
            }
        }
        #expect(checked > 2_000, "the mutations must leave enough heads the parser takes: \(checked)")
    }
}
