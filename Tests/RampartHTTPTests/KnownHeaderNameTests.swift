import Testing
@testable import RampartHTTP

/// The name classes the parser notes per field, and the word-at-a-time case-folding compare they
/// and every other name lookup rest on.
@Suite struct KnownHeaderNameTests {
    static let names: [(String, KnownHeaderName)] = [
        ("te", .te), ("via", .via), ("host", .host), ("expect", .expect), ("trailer", .trailer), ("upgrade", .upgrade),
        ("connection", .connection), ("keep-alive", .keepAlive), ("content-type", .contentType), ("x-request-id", .requestID),
        ("content-length", .contentLength), ("x-forwarded-for", .forwardedFor), ("proxy-connection", .proxyConnection),
        ("x-forwarded-host", .forwardedHost), ("transfer-encoding", .transferEncoding), ("x-forwarded-proto", .forwardedProto),
        ("proxy-authenticate", .proxyAuthenticate), ("proxy-authorization", .proxyAuthorization),
        ("strict-transport-security", .strictTransportSecurity),
        ("proxy-authentication-info", .proxyOther), ("Proxy-Status", .proxyOther),
        ("Proxy-Authorization-Override", .proxyOther), ("proxy-authentication-info-extra", .proxyOther),
        ("server", .other), ("date", .other), ("x-frame-options", .other), ("proxy-", .other), ("proxy", .other),
        ("content-lengthx", .other), ("contentlength", .other), ("", .other), ("t", .other),
        ("content_length", .other), ("hos\u{7F}", .other), ("x-forwarded-fo", .other),
    ]

    static func classify(_ s: String) -> KnownHeaderName {
        Array(s.utf8).withUnsafeBufferPointer { KnownHeaderName.classify($0) }
    }

    /// Every known name in any case, and its near misses (a byte more, less or changed).
    @Test func namesAreClassedInAnyCase() {
        for (name, known) in Self.names {
            #expect(Self.classify(name) == known, "\(name)")
            #expect(Self.classify(name.uppercased()) == known, "\(name.uppercased())")
            let mixed = String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
            #expect(Self.classify(mixed) == known, "\(mixed)")
        }
        // A byte that differs only by 0x20 where the name has no letter is another name.
        #expect(Self.classify("content\u{0D}length") == .other)
        #expect(Self.classify("x\u{0D}request-id") == .other)
    }

    /// The parser's note travels with the field: edits, copies and appends keep it, and a field
    /// added later is classed from its bytes.
    @Test func theParsedClassTravelsWithTheField() throws {
        let raw = Array("GET / HTTP/1.1\r\nHost: a\r\nCONTENT-LENGTH: 0\r\nX-Thing: 1\r\nConnection: keep-alive\r\n\r\n".utf8)
        guard case .complete(let head, _) = HTTPRequestParser.parseHead(raw) else {
            Issue.record("the head did not parse"); return
        }
        var h = head.headers
        h.add("Transfer-Encoding", "chunked")
        h.replaceValue(at: 1, with: "5")
        var copy = HTTPHeaders()
        copy.append(contentsOf: h)
        // The parser's note itself, not a class told again from the bytes: the field added later has none.
        #expect(copy.withFieldBytes { f in (0..<f.count).map { f.entry($0).known } } == [.host, .contentLength, .other, .connection, .unclassified])
        let classes = copy.withFieldBytes { f in (0..<f.count).map { f.knownName($0) } }
        #expect(classes == [.host, .contentLength, .other, .connection, .transferEncoding])
        var roles: [KnownHeaderName] = []
        copy.removeFields { known, _, _ in roles.append(known); return known.isHopByHop }
        #expect(roles == classes)
        #expect(copy.withFieldBytes { f in (0..<f.count).map { f.knownName($0) } } == [.host, .contentLength, .other])
    }

    /// The word compare against a byte-by-byte fold, at every length up to 40 and every position
    /// of a difference: case flips match, any other change does not.
    @Test func theWordCompareAgreesWithTheByteCompare() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.!~`@[{".utf8)
        for n in 0...40 {
            let lower = (0..<n).map { alphabet[($0 * 7 + n) % alphabet.count] }
            for i in 0..<max(n, 1) {
                for delta: UInt8 in [0x00, 0x20, 0x01, 0x40, 0x80] where n > 0 || delta == 0 {
                    var bytes = lower
                    if n > 0 { bytes[i] ^= delta }
                    let expected = zip(bytes, lower).allSatisfy { ASCIIBytes.lower($0) == $1 }
                    let got = bytes.withUnsafeBufferPointer { b in
                        lower.withUnsafeBufferPointer { l in
                            n == 0 || ASCIIBytes.equalsLowercase(b.baseAddress!, l.baseAddress!, count: n)
                        }
                    }
                    #expect(got == expected, "length \(n), byte \(i) ^ \(delta)")
                    #expect(bytes.withUnsafeBufferPointer { ASCIIBytes.equalsLowercased($0, lower) } == expected)
                }
            }
        }
    }
}
