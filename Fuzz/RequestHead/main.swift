import RampartHTTP

// libFuzzer target for the request side of Rampart's HTTP/1.1 server: HTTPRequestParser and
// HTTP1ServerMachine (the bytes every client sends). Invariants, on any bytes:
//  - a parsed head is what its bytes say: it ends at the first empty line, bytes after it change
//    nothing, its target is origin-form (or "*" for OPTIONS) with path and query slicing it, and
//    its framing is exactly the one Content-Length (plain decimal) or the one
//    `Transfer-Encoding: chunked` it carries (the request-smuggling surface);
//  - parse(serialize(head)) == head (method, target, version, fields, framing, persistence), and
//    the head Rampart forwards upstream (HTTP1ClientMachine.encodeHead, framing header re-added)
//    parses to the same request: what Rampart checked is what the upstream reads;
//  - the server machine yields the same outcomes (heads, body bytes, ends, error status and code)
//    whether the bytes arrive at once, one at a time or in irregular pieces, with the default
//    limits and with small ones (so 414/431 are reached), and a Content-Length body that ends
//    has exactly that many bytes;
//  - the upstream request's one-pass field writer agrees with the list it stands for
//    (Forwarding.swift).

let crlfcrlf: [UInt8] = [13, 10, 13, 10]
let smallLimits = HTTPLimits(maxHeaderBytes: 300, maxURLBytes: 60, maxHeaderCount: 8)

/// The head as a client would write it: request line, one line per field, empty line.
func serialize(_ h: HTTPRequestHead) -> [UInt8] {
    var out = Array("\(h.method) \(h.target) HTTP/1.\(h.versionMinor)\r\n".utf8)
    for f in h.headers.fields { out += Array(f.name.utf8) + Array(": ".utf8) + Array(f.value.utf8) + [13, 10] }
    return out + [13, 10]
}

func roomy(_ limits: HTTPLimits) -> HTTPLimits {
    HTTPLimits(maxHeaderBytes: 1 << 20, maxURLBytes: 1 << 20, maxHeaderCount: limits.maxHeaderCount)
}

func isDecimal(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

func checkHead(_ head: HTTPRequestHead, consumed: Int, _ input: [UInt8], _ limits: HTTPLimits) {
    checkForwardedRequest(head)
    let context = "\(show(input)) -> \(head)"
    require(consumed >= 4 && consumed <= input.count && Array(input[(consumed - 4)..<consumed]) == crlfcrlf,
            "head does not end at an empty line: \(consumed) of \(context)")
    require(HTTPRequestParser.parseHead(Array(input[..<consumed]), limits: limits) == .complete(head, consumed: consumed),
            "bytes after the head changed it: \(context)")
    require(head.target.hasPrefix("/") || (head.target == "*" && head.method == "OPTIONS"), "target form: \(context)")
    require(head.path + (head.query.map { "?" + $0 } ?? "") == head.target && !head.path.contains("?"),
            "path/query do not slice the target: \(context)")
    let lengths = head.headers.values("Content-Length"), codings = head.headers.values("Transfer-Encoding")
    switch head.framing {
    case .none:
        require(lengths.isEmpty && codings.isEmpty, "framing none with framing fields: \(context)")
    case .contentLength(let n):
        require(codings.isEmpty && lengths.count == 1 && isDecimal(lengths[0]) && Int(lengths[0]) == n,
                "Content-Length framing \(n) from \(lengths) / \(codings): \(context)")
    case .chunked:
        require(lengths.isEmpty && codings.count == 1 && codings[0].lowercased() == "chunked" && head.versionMinor == 1,
                "chunked framing from \(lengths) / \(codings): \(context)")
    }
    if head.versionMinor == 1 { require(head.headers.values("Host").count == 1, "HTTP/1.1 without one Host: \(context)") }
    if head.connectionTokens.contains("close") { require(!head.keepAlive, "Connection: close kept alive: \(context)") }

    let again = serialize(head)
    let reparsed = HTTPRequestParser.parseHead(again, limits: roomy(limits))
    require(reparsed == .complete(head, consumed: again.count), "round trip: \(context) -> \(show(again)) -> \(reparsed)")

    // What Rampart forwards: same request line and fields, the framing header written anew.
    guard head.versionMinor == 1 else { return }
    var fields = head.headers
    fields.remove("Content-Length")
    fields.remove("Transfer-Encoding")
    let body: HTTP1ClientMachine.RequestBody
    switch head.framing {
    case .none: body = .none
    case .contentLength(let n): body = .known(n)
    case .chunked: body = .streamed
    }
    var client = HTTP1ClientMachine(method: head.method, body: body)
    var forwarded: [UInt8] = []
    client.encodeHead(target: head.target, headers: fields, into: &forwarded)
    guard case .complete(var upstream, let c) = HTTPRequestParser.parseHead(forwarded, limits: roomy(limits)), c == forwarded.count else {
        fatalError("invariant violated: forwarded head does not parse: \(context) -> \(show(forwarded))")
    }
    upstream.headers.remove("Content-Length")
    upstream.headers.remove("Transfer-Encoding")
    var expected = head
    expected.headers = fields
    require(upstream == expected, "forwarded head reads differently: \(context) -> \(show(forwarded)) -> \(upstream)")
}

/// What the connection's shell sees from the server machine.
enum Outcome: Equatable {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end
    case reject(status: Int, code: String)
    case closed
}

/// Plays the connection shell: buffers what arrives, performs each read action, answers every
/// request with an empty 200 once its body has been read, and stops at a rejection or a close.
struct Shell {
    var machine: HTTP1ServerMachine
    var buffer: [UInt8] = []
    var outcomes: [Outcome] = []
    var over = false

    init(limits: HTTPLimits) {
        machine = HTTP1ServerMachine(settings: .init(limits: limits, headerTimeoutNs: 1_000, bodyTimeoutNs: 1_000,
                                                     keepaliveTimeoutNs: 1_000), now: 0)
    }

    mutating func receive(_ piece: ArraySlice<UInt8>) {
        guard !over else { return }
        buffer += piece
        while !over {
            let action = buffer.withUnsafeBytes { machine.read($0, now: 0) }
            switch action {
            case .needMore:
                return
            case .head(let head, let consumed):
                require(consumed > 0 && consumed <= buffer.count, "head consumed \(consumed) of \(buffer.count)")
                outcomes.append(.head(head))
                buffer.removeFirst(consumed)
                if machine.state == .awaitingResponse { respond() }
            case .body(let range, let last):
                require(range.upperBound <= buffer.count, "body range \(range) past \(buffer.count)")
                if !range.isEmpty {
                    if case .body(let earlier)? = outcomes.last {
                        outcomes[outcomes.count - 1] = .body(earlier + buffer[range])
                    } else {
                        outcomes.append(.body(Array(buffer[range])))
                    }
                }
                buffer.removeFirst(range.upperBound)
                if last { outcomes.append(.end); respond() }
            case .tunnel:
                fatalError("invariant violated: a tunnel opened without a 101")
            case .rejectHead(let e), .rejectBody(let e):
                outcomes.append(.reject(status: e.status, code: e.code))
                over = true
            }
        }
    }

    mutating func respond() {
        var head = HTTPResponseHead(status: 200, headers: ["Content-Length": "0"])
        require(machine.responseHead(&head, shuttingDown: false), "response head refused")
        switch machine.endResponse(buffered: buffer.count, now: 0) {
        case .nextRequest: break
        case .close: outcomes.append(.closed); over = true
        case .ignored: fatalError("invariant violated: response end ignored")
        }
    }
}

func serve(_ pieces: [ArraySlice<UInt8>], limits: HTTPLimits) -> [Outcome] {
    var shell = Shell(limits: limits)
    for p in pieces { shell.receive(p) }
    return shell.outcomes
}

/// A Content-Length body that ended has exactly that length; a body only follows a head.
func checkBodies(_ outcomes: [Outcome], _ input: [UInt8]) {
    var expected: Int? = nil
    for (k, o) in outcomes.enumerated() {
        switch o {
        case .head(let h):
            if case .contentLength(let n) = h.framing, n > 0 { expected = n } else { expected = nil }
        case .body(let b):
            guard k > 0, case .head = outcomes[k - 1] else { fatalError("invariant violated: body without a head: \(show(input))") }
            if let n = expected {
                let ended = k + 1 < outcomes.count && outcomes[k + 1] == .end
                require(ended ? b.count == n : b.count < n, "Content-Length \(n) body of \(b.count) bytes: \(show(input))")
            }
        default:
            break
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    for limits in [HTTPLimits(), smallLimits] {
        if case .complete(let head, let consumed) = HTTPRequestParser.parseHead(input, limits: limits) {
            checkHead(head, consumed: consumed, input, limits)
        }
        let whole = serve([input[...]], limits: limits)
        checkBodies(whole, input)
        let bytewise = serve(input.indices.map { input[$0...$0] }, limits: limits)
        require(bytewise == whole, "one-shot \(whole) but byte-at-a-time \(bytewise): \(show(input))")
        let pieces = serve(irregularPieces(input), limits: limits)
        require(pieces == whole, "one-shot \(whole) but in pieces \(pieces): \(show(input))")
    }
    return 0
}
