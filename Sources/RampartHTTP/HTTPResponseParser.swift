// Response head parsing for Rampart's own HTTP/1.1 upstream client (RFC 9112 §4, §6.3). The
// framing rules are the request parser's (`ResponseFramingRules`): a response that is ambiguous
// about where its body ends is refused, since the client's connection (and a reused upstream
// one) would otherwise be desynchronised.

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
    case failure(UpstreamResponseError)
}

public enum HTTPResponseParser {
    static func isStandardReason(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int, status: Int) -> Bool {
        var phrase = HTTPResponseHead.reasonPhrase(status)   // a literal: its bytes are read in place
        return phrase.withUTF8 { p in
            guard p.count == end - start else { return false }
            for k in 0..<p.count where p[k] != b[start &+ k] { return false }
            return true
        }
    }

    /// Parses one response head at the start of `bytes`. `requestMethod` decides HEAD semantics.
    public static func parseHead(_ bytes: UnsafeRawBufferPointer, requestMethod: String, maxHeaderBytes: Int = 65536,
                                 maxHeaderCount: Int = 200) -> ResponseParseResult {
        let b = bytes
        let n = b.count
        let scanEnd = min(n, maxHeaderBytes)
        var statusLF = -1
        var headEnd = -1
        switch b.responseHeadEnd(to: scanEnd) {
        case .bareLF: return .failure(UpstreamResponseError("bare LF in response head"))
        case .incomplete: return n >= maxHeaderBytes ? .failure(UpstreamResponseError("response head too large")) : .incomplete
        case .end(let lf, let end): statusLF = lf; headEnd = end
        }

        // "HTTP/1.x SP 3DIGIT [SP reason]"
        let lineEnd = statusLF - 1
        guard lineEnd >= 12, b.equalsExact(0, 7, "HTTP/1."), b[7] == 0x30 || b[7] == 0x31, b[8] == SP else {
            return .failure(UpstreamResponseError("invalid status line"))
        }
        let versionMinor = Int(b[7] - 0x30)
        var status = 0
        for k in 9..<12 {
            let d = b[k] &- 0x30
            guard d <= 9 else { return .failure(UpstreamResponseError("invalid status code")) }
            status = status * 10 + Int(d)
        }
        guard status >= 100, lineEnd == 12 || b[12] == SP else { return .failure(UpstreamResponseError("invalid status line")) }
        // nil when it is the standard phrase (what nearly every upstream sends): the same bytes on
        // the wire, without a String made for each response.
        let reason: String? = lineEnd > 13 && !Self.isStandardReason(b, 13, lineEnd, status: status) ? b.string(13, lineEnd) : nil

        var fields = HTTPHeaders()
        var facts = HeadFacts()
        if let e = HeaderFieldsParser.parse(b, start: statusLF + 1, end: headEnd - 2, maxCount: maxHeaderCount,
                                            headers: &fields, facts: &facts) {
            return .failure(UpstreamResponseError(e.message))
        }

        // Framing fields are checked on every head, bodiless or not: a bad one is never relayed.
        let te = facts.transferEncoding
        let declared: ResponseFramingRules.Declared
        switch ResponseFramingRules.declared(
            contentLengthCount: facts.contentLengthCount, length: HeadSemantics.parseContentLength(b, facts.contentLength),
            transferEncodingCount: facts.transferEncodingCount, chunkedOnly: b.equalsLowercase(te.lowerBound, te.upperBound, "chunked"),
            versionMinor: versionMinor) {
        case .success(let d): declared = d
        case .failure(let e): return .failure(e)
        }
        let framing = ResponseFramingRules.framing(status: status, requestMethod: requestMethod, declared: declared)
        let tokens = facts.connectionTokens
        let keepAlive = !tokens.containsToken("close") && (versionMinor >= 1 || tokens.containsToken("keep-alive"))
            && framing != .untilClose
            && !ResponseFramingRules.leavesBodyBehind(status: status, requestMethod: requestMethod, declared: declared)
        var head = HTTPResponseHead(status: status, reason: reason, headers: fields)
        head.versionMinor = versionMinor
        return .complete(head, framing: framing, keepAlive: keepAlive, consumed: headEnd)
    }
}

enum ResponseHeadEnd { case end(statusLF: Int, headEnd: Int), bareLF, incomplete }

extension UnsafeRawBufferPointer {
    /// Where a response head ends (the index after its empty line), with its status line's LF;
    /// `bareLF` at the first LF that follows no CR. Every LF of a word is taken in one step (an
    /// exact zero-byte test, so no flag is false), where a search per LF started over each time.
    @inline(__always)
    func responseHeadEnd(to end: Int) -> ResponseHeadEnd {
        var statusLF = -1
        var i = 0
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        while i &+ 8 <= end {
            let w = UInt64(littleEndian: loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ 0x0A0A_0A0A_0A0A_0A0A
            var found = ~(((w & low) &+ low) | w | low)
            while found != 0 {
                let lf = i &+ (found.trailingZeroBitCount >> 3)
                if lf == 0 || self[lf &- 1] != CR { return .bareLF }
                if statusLF < 0 { statusLF = lf } else if self[lf &- 2] == LF { return .end(statusLF: statusLF, headEnd: lf &+ 1) }
                found &= found &- 1
            }
            i &+= 8
        }
        while i < end {
            if self[i] == LF {
                if i == 0 || self[i &- 1] != CR { return .bareLF }
                if statusLF < 0 { statusLF = i } else if self[i &- 2] == LF { return .end(statusLF: statusLF, headEnd: i &+ 1) }
            }
            i &+= 1
        }
        return .incomplete
    }
}
