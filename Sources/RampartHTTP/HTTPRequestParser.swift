// Request head parsing (RFC 9112), strict like HAProxy/nginx: CRLF only, single
// spaces, token names, no obs-fold, one unambiguous body framing. Stateless: the
// caller passes everything buffered so far and gets `.incomplete` until the head ends.

public enum HeadParseResult: Sendable, Equatable {
    case incomplete
    case complete(HTTPRequestHead, consumed: Int)
    case failure(HTTPParseError)
}

public enum HTTPRequestParser {
    /// The method as a String: the common ones are literals, so a request makes no String for it.
    static func method(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        switch end - start {
        case 3 where b.equalsExact(start, end, "GET"): return "GET"
        case 3 where b.equalsExact(start, end, "PUT"): return "PUT"
        case 4 where b.equalsExact(start, end, "POST"): return "POST"
        case 4 where b.equalsExact(start, end, "HEAD"): return "HEAD"
        case 5 where b.equalsExact(start, end, "PATCH"): return "PATCH"
        case 6 where b.equalsExact(start, end, "DELETE"): return "DELETE"
        case 7 where b.equalsExact(start, end, "OPTIONS"): return "OPTIONS"
        default: return b.string(start, end)
        }
    }

    /// Parses one request head from the start of `bytes`. `.incomplete` when no full head yet (but `.failure` 431 as
    /// soon as the bytes seen exceed maxHeaderBytes without a terminator, and 414 as soon as the request line exceeds
    /// maxURLBytes). `consumed` counts leading CRLFs and the final empty line; body bytes follow it.
    public static func parseHead(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits) -> HeadParseResult {
        let n = bytes.count
        let b = bytes

        // RFC 9112 §2.2: ignore empty lines before the request line (still counted against the limit).
        var start = 0
        while start < n {
            let c = b[start]
            if c == LF { return .failure(.badRequest("Bare LF in request")) }
            if c != CR { break }
            if start + 1 >= n { return start + 1 > limits.maxHeaderBytes ? .failure(.headersTooLarge()) : .incomplete }
            if b[start + 1] != LF { return .failure(.badRequest("Bare CR in request")) }
            start += 2
        }
        if start > limits.maxHeaderBytes { return .failure(.headersTooLarge()) }

        // Find the end of the head ("\r\n\r\n") one LF at a time; every LF must follow a CR.
        let scanEnd = min(n, limits.maxHeaderBytes)
        var requestLineLF = -1
        var headEnd = -1
        var i = start
        while let lf = b.firstLF(from: i, to: scanEnd) {
            // A request line past the limit fails as it would have before its end arrived.
            if requestLineLF < 0 && lf - start - (b[lf - 1] == CR ? 1 : 0) > limits.maxURLBytes {
                return overlongRequestLine(b, start: start, limits: limits)
            }
            if lf == start || b[lf - 1] != CR {
                // A bad request line is answered as soon as it ends, before a later bare LF arrives.
                if requestLineLF >= 0, case .failure(let e) = RequestLineParser.parse(b, start: start, end: requestLineLF - 1) {
                    return .failure(e)
                }
                return .failure(.badRequest("Bare LF in request"))
            }
            if requestLineLF < 0 {
                requestLineLF = lf
            } else if b[lf - 2] == LF {
                headEnd = lf + 1
                break
            }
            i = lf + 1
        }

        if headEnd < 0 {
            if requestLineLF < 0 {
                var seen = scanEnd - start
                if seen > 0 && b[scanEnd - 1] == CR { seen -= 1 }
                if seen > limits.maxURLBytes { return overlongRequestLine(b, start: start, limits: limits) }
                if let e = RequestLineParser.checkPartial(b, start: start, end: scanEnd) { return .failure(e) }
            } else if case .failure(let e) = RequestLineParser.parse(b, start: start, end: requestLineLF - 1) {
                return .failure(e)
            }
            if n > limits.maxHeaderBytes { return .failure(.headersTooLarge()) }
            return .incomplete
        }
        return parseComplete(b, start: start, requestLineEnd: requestLineLF - 1, headEnd: headEnd, limits: limits)
    }

    /// The answer to a request line longer than maxURLBytes: the one it got when its bytes arrived
    /// one at a time, so that how the client's bytes were cut never changes it. That is 414, unless
    /// the method was already invalid in the first bytes past the limit (a CR there is counted
    /// only once the next byte shows it does not end the line).
    static func overlongRequestLine(_ b: UnsafeRawBufferPointer, start: Int, limits: HTTPLimits) -> HeadParseResult {
        var end = start + limits.maxURLBytes + 1
        if b[end - 1] == CR { end += 1 }
        return .failure(RequestLineParser.checkPartial(b, start: start, end: min(end, b.count)) ?? .uriTooLong())
    }

    /// Parses a head known to end at `headEnd` (just past "\r\n\r\n").
    static func parseComplete(
        _ b: UnsafeRawBufferPointer, start: Int, requestLineEnd: Int, headEnd: Int, limits: HTTPLimits
    ) -> HeadParseResult {
        let line: RequestLine
        switch RequestLineParser.parse(b, start: start, end: requestLineEnd) {
        case .failure(let e): return .failure(e)
        case .success(let l): line = l
        }

        var fields = HTTPHeaders()
        var facts = HeadFacts()
        if let e = HeaderFieldsParser.parse(
            b, start: requestLineEnd + 2, end: headEnd - 2, maxCount: limits.maxHeaderCount,
            headers: &fields, facts: &facts
        ) {
            return .failure(e)
        }

        let decision: HeadDecision
        switch HeadSemantics.decide(b, facts, versionMinor: line.versionMinor) {
        case .failure(let e): return .failure(e)
        case .success(let d): decision = d
        }

        var query: String? = nil
        var pathEnd = line.targetEnd
        for k in line.targetStart..<line.targetEnd where b[k] == UInt8(ascii: "?") {
            pathEnd = k
            query = b.string(k + 1, line.targetEnd)
            break
        }
        let target = b.string(line.targetStart, line.targetEnd)
        let head = HTTPRequestHead(
            method: Self.method(b, start, line.methodEnd), target: target,
            path: pathEnd == line.targetEnd ? target : b.string(line.targetStart, pathEnd), query: query,
            versionMinor: line.versionMinor, headers: fields, decision: decision,
            connectionTokens: facts.connectionTokens
        )
        return .complete(head, consumed: headEnd)
    }
}

extension HTTPRequestParser {
    /// Convenience for callers holding an array (tests, fuzzers).
    public static func parseHead(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> HeadParseResult {
        bytes.withUnsafeBytes { parseHead($0, limits: limits) }
    }
}
