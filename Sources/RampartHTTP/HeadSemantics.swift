// Cross-field rules of a request head: Host presence, body framing (the
// smuggling surface, RFC 9112 §6), persistence and Expect. Anything ambiguous is
// refused rather than resolved one way, since the upstream might resolve it the other.

struct HeadDecision {
    var framing: BodyFraming
    var keepAlive: Bool
    var expectsContinue: Bool
}

@usableFromInline enum HeadSemantics {
    static let maxContentLengthDigits = 18

    static func decide(_ b: UnsafeRawBufferPointer, _ f: HeadFacts, versionMinor: Int) -> Result<HeadDecision, HTTPParseError> {
        if f.hostCount > 1 { return .failure(.badRequest("Multiple Host headers")) }
        if f.hostCount == 0 && versionMinor >= 1 { return .failure(.badRequest("Missing Host header")) }
        for i in f.host where !ByteClass.isHostChar(b[i]) {
            return .failure(.badRequest("Invalid Host header"))
        }

        var framing = BodyFraming.none
        if f.transferEncodingCount > 0 {
            if f.contentLengthCount > 0 { return .failure(.badRequest("Both Content-Length and Transfer-Encoding")) }
            if f.transferEncodingCount > 1 { return .failure(.badRequest("Multiple Transfer-Encoding headers")) }
            if versionMinor == 0 { return .failure(.badRequest("Transfer-Encoding in HTTP/1.0 request")) }
            let te = f.transferEncoding
            if !b.equalsLowercase(te.lowerBound, te.upperBound, "chunked") {
                return .failure(.badRequest("Unsupported Transfer-Encoding"))
            }
            framing = .chunked
        } else if f.contentLengthCount > 0 {
            if f.contentLengthCount > 1 { return .failure(.badRequest("Multiple Content-Length headers")) }
            guard let length = parseContentLength(b, f.contentLength) else {
                return .failure(.badRequest("Invalid Content-Length"))
            }
            framing = .contentLength(length)
        }

        if f.expectOther { return .failure(.expectationFailed()) }

        let tokens = f.connectionTokens
        let keepAlive: Bool
        if tokens.containsToken("close") {
            keepAlive = false
        } else {
            keepAlive = versionMinor >= 1 || tokens.containsToken("keep-alive")
        }
        return .success(HeadDecision(framing: framing, keepAlive: keepAlive, expectsContinue: f.expectPresent && versionMinor >= 1))
    }

    /// 1 to 18 ASCII digits and nothing else: no sign, no list, no inner space, no hex.
    @usableFromInline static func parseContentLength(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= maxContentLengthDigits else { return nil }
        var n = 0
        for i in r {
            let d = b[i] &- 0x30
            guard d <= 9 else { return nil }
            n = n * 10 + Int(d)
        }
        return n
    }
}
