// Response head parsing for Rampart's own HTTP/1.1 upstream client (RFC 9112 §4, §6.3). The
// framing rules are the request parser's: a response that is ambiguous about where its body
// ends (both Content-Length and Transfer-Encoding, several Content-Lengths) is refused, since a
// reused connection would otherwise be desynchronised.

public enum ResponseFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
    /// Body ends when the upstream closes the connection (no reuse).
    case untilClose
}

public enum ResponseParseResult: Sendable, Equatable {
    case incomplete
    case complete(HTTPResponseHead, framing: ResponseFraming, keepAlive: Bool, consumed: Int)
    case failure(String)
}

public enum HTTPResponseParser {
    /// Parses one response head at the start of `bytes`. `requestMethod` decides HEAD semantics.
    public static func parseHead(_ bytes: UnsafeRawBufferPointer, requestMethod: String, maxHeaderBytes: Int = 65536,
                                 maxHeaderCount: Int = 200) -> ResponseParseResult {
        let b = bytes
        let n = b.count
        let scanEnd = min(n, maxHeaderBytes)
        var statusLF = -1
        var headEnd = -1
        var i = 0
        while let lf = b.firstLF(from: i, to: scanEnd) {
            if lf == 0 || b[lf - 1] != CR { return .failure("bare LF in response head") }
            if statusLF < 0 { statusLF = lf } else if b[lf - 2] == LF { headEnd = lf + 1; break }
            i = lf + 1
        }
        if headEnd < 0 { return n >= maxHeaderBytes ? .failure("response head too large") : .incomplete }

        // "HTTP/1.x SP 3DIGIT [SP reason]"
        let lineEnd = statusLF - 1
        guard lineEnd >= 12, b.equalsExact(0, 7, "HTTP/1."), b[7] == 0x30 || b[7] == 0x31, b[8] == SP else {
            return .failure("invalid status line")
        }
        let versionMinor = Int(b[7] - 0x30)
        var status = 0
        for k in 9..<12 {
            let d = b[k] &- 0x30
            guard d <= 9 else { return .failure("invalid status code") }
            status = status * 10 + Int(d)
        }
        guard status >= 100, lineEnd == 12 || b[12] == SP else { return .failure("invalid status line") }
        let reason: String? = lineEnd > 13 ? b.string(13, lineEnd) : nil

        var fields: [HTTPField] = []
        fields.reserveCapacity(12)
        var facts = HeadFacts()
        if let e = HeaderFieldsParser.parse(b, start: statusLF + 1, end: headEnd - 2, maxCount: maxHeaderCount,
                                            headers: &fields, facts: &facts) {
            return .failure(e.message)
        }

        let tokens = facts.connectionTokens
        var keepAlive = !tokens.contains("close") && (versionMinor >= 1 || tokens.contains("keep-alive"))
        // The framing fields are checked on every response, one without a body included (HEAD, 1xx,
        // 204, 304): Rampart relays them, and a length it cannot read, or one beside
        // Transfer-Encoding, is framing it cannot trust.
        if facts.transferEncodingCount > 0 && facts.contentLengthCount > 0 {
            return .failure("both Content-Length and Transfer-Encoding")
        }
        var length: Int? = nil
        if facts.contentLengthCount > 0 {
            guard facts.contentLengthCount == 1, let n = HeadSemantics.parseContentLength(b, facts.contentLength) else {
                return .failure("invalid Content-Length")
            }
            length = n
        }
        var framing: ResponseFraming
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if facts.transferEncodingCount > 0 {
            let te = facts.transferEncoding
            // The last coding must be chunked for the length to be knowable; otherwise read to close.
            let value = b.lowercasedString(te.lowerBound, te.upperBound)
            if facts.transferEncodingCount == 1, value == "chunked" { framing = .chunked }
            else if value.hasSuffix("chunked") { return .failure("unsupported transfer coding \(value)") }
            else { framing = .untilClose; keepAlive = false }
        } else if let length {
            framing = .contentLength(length)
        } else {
            framing = .untilClose
            keepAlive = false
        }
        var head = HTTPResponseHead(status: status, reason: reason, headers: HTTPHeaders(fields))
        head.versionMinor = versionMinor
        return .complete(head, framing: framing, keepAlive: keepAlive, consumed: headEnd)
    }
}
