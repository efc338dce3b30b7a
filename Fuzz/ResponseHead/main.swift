import RampartHTTP

// libFuzzer target for the response side of Rampart's own HTTP/1.1 upstream client:
// HTTPResponseParser and HTTP1ClientMachine (the bytes every upstream sends back).
// Input: one byte naming the request's method ("H": HEAD, anything else: GET), then the response.
// Invariants:
//  - the framing of an accepted head is well-formed and what its fields say: a HEAD, 1xx, 204 or
//    304 response has no body; any Content-Length it carries is one plain decimal (1 to 18 digits),
//    never beside Transfer-Encoding; chunked is exactly one `Transfer-Encoding: chunked`; a body
//    read until close means the connection is not reused. A framing the parser accepts is one
//    Rampart can relay without guessing (issue 20, point 8);
//  - parse(HTTPResponseHead.serialize(head)) gives the same status, version, fields, framing and
//    persistence (and the reason, with control bytes turned into spaces as serialize does);
//  - the client machine yields the same outcomes (final head, body bytes, completion or failure)
//    whether the bytes arrive at once, one at a time or in irregular pieces, then the upstream's
//    close; a bodiless response yields no body bytes, and a completed Content-Length body has
//    exactly that many;
//  - the one-pass head writer agrees with the field list it stands for (Forwarding.swift).

let crlfcrlf: [UInt8] = [13, 10, 13, 10]

func isDecimal(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

func bodiless(_ status: Int, _ method: String) -> Bool {
    method == "HEAD" || status < 200 || status == 204 || status == 304
}

/// What HTTPResponseHead.serialize writes for a reason: bytes that could split the head become spaces.
func sanitized(_ s: String) -> String {
    String(decoding: s.utf8.map { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 ? $0 : 0x20 }, as: UTF8.self)
}

func parse(_ bytes: [UInt8], _ method: String) -> ResponseParseResult {
    bytes.withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: method) }
}

func checkParse(_ bytes: [UInt8], method: String) {
    guard case .complete(let head, let framing, let keepAlive, let consumed) = parse(bytes, method) else { return }
    checkForwardedResponse(head)
    let context = "\(method) -> \(show(bytes)) -> \(head), \(framing), keepAlive \(keepAlive)"
    require(consumed >= 4 && consumed <= bytes.count && Array(bytes[(consumed - 4)..<consumed]) == crlfcrlf,
            "head does not end at an empty line: \(consumed) of \(context)")
    require(parse(Array(bytes[..<consumed]), method) == .complete(head, framing: framing, keepAlive: keepAlive, consumed: consumed),
            "bytes after the head changed it: \(context)")
    require((100...999).contains(head.status) && (0...1).contains(head.versionMinor), "status line: \(context)")
    let lengths = head.headers.values("Content-Length"), codings = head.headers.values("Transfer-Encoding")
    if !lengths.isEmpty {
        require(lengths.count == 1 && isDecimal(lengths[0]) && lengths[0].utf8.count <= 18 && codings.isEmpty,
                "accepted Content-Length \(lengths) beside Transfer-Encoding \(codings): \(context)")
    }
    switch framing {
    case .none:
        require(bodiless(head.status, method), "no body framing for a response that has one: \(context)")
    case .contentLength(let n):
        require(!bodiless(head.status, method) && lengths.count == 1 && Int(lengths[0]) == n, "Content-Length framing: \(context)")
    case .chunked:
        require(!bodiless(head.status, method) && lengths.isEmpty && codings.count == 1 && codings[0].lowercased() == "chunked",
                "chunked framing: \(context)")
    case .untilClose:
        require(!bodiless(head.status, method) && lengths.isEmpty && !keepAlive, "read-until-close framing: \(context)")
    }

    let again = head.serialized()
    guard case .complete(let head2, let framing2, let keepAlive2, let consumed2) = parse(again, method) else {
        fatalError("invariant violated: serialized head does not parse: \(context) -> \(show(again))")
    }
    let sameHead = head2.status == head.status && head2.versionMinor == head.versionMinor && head2.headers == head.headers
    let sameFraming = framing2 == framing && keepAlive2 == keepAlive && consumed2 == again.count
    require(sameHead && sameFraming, "round trip: \(context) -> \(show(again)) -> \(head2), \(framing2), \(keepAlive2)")
    if let reason = head.reason {
        // nil stands for the status's standard phrase (the parser keeps no copy of it): the phrase
        // the head carries is what round-trips.
        let phrase2 = head2.reason ?? HTTPResponseHead.reasonPhrase(head2.status)
        require(phrase2 == sanitized(reason), "reason round trip: \(context) -> \(String(describing: head2.reason))")
    }
}

/// What the exchange sees from the client machine.
enum Outcome: Equatable {
    case head(HTTPResponseHead)
    case body([UInt8])
    case complete
    case retry
    case fail(HTTP1ClientMachine.Failure)
}

/// Plays the upstream connection's shell: sends a request, buffers what arrives, performs each
/// action the machine returns until the exchange is over.
struct Shell {
    var machine: HTTP1ClientMachine
    var input: [UInt8] = []
    var outcomes: [Outcome] = []
    var over = false

    init(method: String) {
        machine = HTTP1ClientMachine(method: method, body: .none)
        var request: [UInt8] = []
        machine.encodeHead(target: "/", headers: ["Host": "upstream"], into: &request)
        machine.connected(reused: false)
        _ = machine.sent(request.count)
    }

    mutating func receive(_ piece: ArraySlice<UInt8>) {
        input += piece
        run()
    }

    mutating func close() {
        machine.receivedEOF()
        run()
    }

    mutating func run() {
        while !over {
            let action = input.withUnsafeBytes { machine.readResponse($0) }
            switch action {
            case .needMore(let c):
                require(c <= input.count, "consumed \(c) of \(input.count)")
                input.removeFirst(c)
                return
            case .head(let head, let c):
                require(c > 0 && c <= input.count, "head consumed \(c) of \(input.count)")
                outcomes.append(.head(head))
                input.removeFirst(c)
            case .body(let r):
                require(!r.isEmpty && r.upperBound <= input.count, "body range \(r) of \(input.count)")
                if case .body(let earlier)? = outcomes.last {
                    outcomes[outcomes.count - 1] = .body(earlier + input[r])
                } else {
                    outcomes.append(.body(Array(input[r])))
                }
                input.removeFirst(r.upperBound)
            case .complete(let c, _):
                require(c <= input.count, "complete consumed \(c) of \(input.count)")
                input.removeFirst(c)
                outcomes.append(.complete)
                over = true
            case .retryOnFreshConnection:
                outcomes.append(.retry)
                over = true
            case .upgraded:
                require(false, "a 101 ended a request that asked for no upgrade")
            case .fail(let f):
                outcomes.append(.fail(f))
                over = true
            }
        }
    }
}

func exchange(_ pieces: [ArraySlice<UInt8>], method: String) -> [Outcome] {
    var shell = Shell(method: method)
    for p in pieces where !shell.over { shell.receive(p) }
    if !shell.over { shell.close() }
    return shell.outcomes
}

/// The verdict on a response, where the cut can legitimately move one thing: a chunked body whose
/// framing breaks in bytes that came *with* the head is refused before the head goes out (a 502,
/// not a relayed head and a cut), but the head is never held back waiting for chunk bytes (an SSE
/// head must reach the client at once), so the same break arriving later cuts a relayed head.
/// Head, payload, then that failure therefore reads as the failure alone; everything else as is.
func verdict(_ outcomes: [Outcome]) -> [Outcome] {
    guard case .head? = outcomes.first, case .fail(.invalidResponse(let e))? = outcomes.last,
          e.message.hasPrefix("bad chunked body"),
          outcomes.dropFirst().dropLast().allSatisfy({ if case .body = $0 { true } else { false } }) else { return outcomes }
    return [outcomes.last!]
}

func checkOutcomes(_ outcomes: [Outcome], method: String, _ input: [UInt8]) {
    guard case .head(let head)? = outcomes.first else {
        require(outcomes.count <= 1, "outcomes before a head: \(outcomes) from \(show(input))")
        return
    }
    require(head.status >= 200 && head.status <= 999, "interim head handed out: \(head) from \(show(input))")
    let body = outcomes.reduce(0) { n, o in if case .body(let b) = o { n + b.count } else { n } }
    if bodiless(head.status, method) {
        require(body == 0, "\(method) \(head.status) response yielded \(body) body bytes: \(show(input))")
    } else if outcomes.last == .complete, head.headers.values("Transfer-Encoding").isEmpty,
              let length = head.headers["Content-Length"].flatMap({ Int($0) }) {
        require(body == length, "Content-Length \(length) body completed with \(body) bytes: \(show(input))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let method = data[0] == UInt8(ascii: "H") ? "HEAD" : "GET"
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    checkParse(bytes, method: method)
    let whole = exchange([bytes[...]], method: method)
    checkOutcomes(whole, method: method, bytes)
    let bytewise = exchange(bytes.indices.map { bytes[$0...$0] }, method: method)
    require(verdict(bytewise) == verdict(whole), "one-shot \(whole) but byte-at-a-time \(bytewise): \(method) \(show(bytes))")
    let pieces = exchange(irregularPieces(bytes), method: method)
    require(verdict(pieces) == verdict(whole), "one-shot \(whole) but in pieces \(pieces): \(method) \(show(bytes))")
    return 0
}
