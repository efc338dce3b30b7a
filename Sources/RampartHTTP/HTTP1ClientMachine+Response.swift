// The response side of HTTP1ClientMachine: one action per call over the shell's input buffer, so
// no list of actions is ever built; the shell consumes what the action says and calls again.

extension HTTP1ClientMachine {
    /// Takes the next step over `input` (the unconsumed received bytes, starting where the last
    /// action's consumption left off).
    public mutating func readResponse(_ input: UnsafeRawBufferPointer) -> ResponseAction {
        switch state {
        case .awaitingHead(let any):
            return readHead(input, receivedAny: any || !input.isEmpty)
        case .body(.contentLength(let remaining)):
            if remaining == 0 { return complete(consumed: 0, of: input) }
            if input.isEmpty { return peerClosed ? fail(.reset("upstream closed mid-body")) : .needMore(consumed: 0) }
            if readPaused { return .needMore(consumed: 0) }
            let take = min(remaining, input.count, Self.deliverSlice)
            state = .body(.contentLength(remaining: remaining - take))
            return .body(0..<take)
        case .body(.untilClose):
            if input.isEmpty { return peerClosed ? complete(consumed: 0, of: input) : .needMore(consumed: 0) }
            if readPaused { return .needMore(consumed: 0) }
            return .body(0..<min(input.count, Self.deliverSlice))
        case .body(.chunked(let decoder)):
            return readChunked(input, decoder)
        case .idle, .connecting, .complete, .failed:
            return .needMore(consumed: 0)
        }
    }

    /// Parses heads until the final one: 1xx interim responses (100 Continue, 103 Early Hints)
    /// are dropped; 101 ends the HTTP exchange when the request asked for an upgrade, and is
    /// refused otherwise.
    mutating func readHead(_ input: UnsafeRawBufferPointer, receivedAny: Bool) -> ResponseAction {
        state = .awaitingHead(receivedAny: receivedAny)
        var consumed = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
            if rest.isEmpty {
                guard peerClosed else { return .needMore(consumed: consumed) }
                if !receivedAny { return retryOrFail(.reset("connection closed before a response")) }
                return fail(.reset("upstream closed mid-head"))
            }
            switch HTTPResponseParser.parseHead(rest, requestMethod: method) {
            case .incomplete:
                return peerClosed ? fail(.reset("upstream closed mid-head")) : .needMore(consumed: consumed)
            case .failure(let why):
                return fail(.invalidResponse(why))
            case .complete(let head, let framing, let ka, let c):
                consumed += c
                if head.status < 200 {
                    if head.status == 101 {
                        guard upgrade else { return fail(.invalidResponse(UpstreamResponseError("unexpected protocol switch"))) }
                        state = .complete
                        keepAlive = false
                        return .upgraded(head, consumed: consumed)
                    }
                    continue
                }
                keepAlive = ka
                switch framing {
                case .none: state = .body(.contentLength(remaining: 0))
                case .contentLength(let n): state = .body(.contentLength(remaining: n))
                case .chunked:
                    // Chunks that came with the head are checked before it goes out, so broken
                    // framing there is a 502 rather than a relayed head and a cut.
                    if let e = Self.chunkedError(UnsafeRawBufferPointer(rebasing: input[consumed...])) { return fail(.invalidResponse(e)) }
                    state = .body(.chunked(ChunkedDecoder()))
                case .untilClose: state = .body(.untilClose)
                }
                return .head(head, consumed: consumed)
            }
        }
    }

    /// Framing bytes are decoded here; payload leaves as one `.body` range per call. Payload only
    /// ever starts right after an LF (the chunk-size line's), so feeding the decoder up to the next
    /// LF never lets it run past the start of a payload run it would have to hand out.
    mutating func readChunked(_ input: UnsafeRawBufferPointer, _ start: ChunkedDecoder) -> ResponseAction {
        var decoder = start
        let n = input.count
        var i = 0
        while !decoder.isFinished && i < n {
            if case .data = decoder.state {
                if readPaused { break }
                let take = min(decoder.remaining, n - i, Self.deliverSlice)
                let run = i..<(i + take)
                _ = decoder.decode(UnsafeRawBufferPointer(rebasing: input[run])) { _ in }
                state = .body(.chunked(decoder))
                return .body(run)
            }
            let end = input.firstLF(from: i, to: n).map { $0 + 1 } ?? n
            switch decoder.decode(UnsafeRawBufferPointer(rebasing: input[i..<end]), body: { _ in }) {
            case .needMore(let c), .finished(let c): i += c
            case .failure(let e): return fail(.invalidResponse(Self.badChunks(e)))
            }
        }
        state = .body(.chunked(decoder))
        if decoder.isFinished { return complete(consumed: i, of: input) }
        if i == n && peerClosed { return fail(.reset("upstream closed mid-body")) }
        return .needMore(consumed: i)
    }

    /// The first framing error in the chunked body bytes at hand, if any (payload is skipped).
    static func chunkedError(_ bytes: UnsafeRawBufferPointer) -> UpstreamResponseError? {
        guard !bytes.isEmpty else { return nil }
        var decoder = ChunkedDecoder()
        if case .failure(let e) = decoder.decode(bytes, body: { _ in }) { return badChunks(e) }
        return nil
    }

    static func badChunks(_ e: HTTPParseError) -> UpstreamResponseError {
        UpstreamResponseError("bad chunked body: \(e.message)")
    }

    /// Reusable only when nothing is left over on either side: keep-alive, the whole request
    /// written, no bytes after the body (a pipelined extra response would desynchronise the pool).
    mutating func complete(consumed: Int, of input: UnsafeRawBufferPointer) -> ResponseAction {
        let reusable = keepAlive && !peerClosed && upload == .ended && unsent == 0 && input.count == consumed
        state = .complete
        return .complete(consumed: consumed, reusable: reusable)
    }

    mutating func fail(_ failure: Failure) -> ResponseAction {
        state = .failed
        return .fail(failure)
    }
}
