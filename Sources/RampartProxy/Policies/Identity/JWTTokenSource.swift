import Glibc
import RampartHTTP
import RampartLoop
import RampartTransport
extension JWTVerifier {
    /// Extracts the token from a request: `Authorization: Bearer <t>` (the header value; its name
    /// comes from config.header) or else the cookie named `cookieName`. A non-Bearer scheme is
    /// not a JWT, so the cookie is tried next.
    public static func token(fromAuthorization authorization: String?, cookieHeader: String?, cookieName: String?) -> String? {
        if let authorization, let token = bearer(authorization) { return token }
        if let cookieHeader, let cookieName { return cookie(cookieName, in: cookieHeader) }
        return nil
    }

    /// RFC 6750 §2.1: scheme is case-insensitive, then one or more spaces, then the token.
    /// Read as bytes: it runs on every request of a JWT route, and the scheme and token are ASCII.
    package static func bearer(_ value: String) -> String? {
        var value = value
        return value.withUTF8 { bearer($0) }
    }

    /// The same from the field's bytes where they lie: the token is the only String made.
    package static func bearer(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        do {
            func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
            var start = 0, end = b.count
            while start < end, isSpace(b[start]) { start += 1 }
            while end > start, isSpace(b[end - 1]) { end -= 1 }
            guard end - start > 7, b[start + 6] == 0x20 else { return nil }
            guard ASCIIBytes.equalsLowercase(UnsafeBufferPointer(rebasing: b[start..<start + 6]), "bearer") else { return nil }
            start += 7
            while start < end, isSpace(b[start]) { start += 1 }
            guard start < end else { return nil }
            let token = UnsafeBufferPointer(rebasing: b[start..<end])
            if memchr(token.baseAddress!, 0x20, token.count) != nil { return nil }
            return String(decoding: token, as: UTF8.self)
        }
    }

    /// The token of the first `header` field's bearer value, else of the cookie `cookieName`
    /// (`token(fromAuthorization:cookieHeader:cookieName:)` on the head's fields, reading the
    /// header's bytes in place and the Cookie field only when a cookie may carry the token).
    package static func token(in headers: HTTPHeaders, header: String, cookieName: String?) -> String? {
        let fromHeader = HTTPHeaders.withBytes(header) { name in
            headers.withFieldBytes { f in f.firstIndex(of: name).flatMap { bearer(f.value($0)) } }
        }
        if let fromHeader { return fromHeader }
        guard let cookieName, let cookieHeader = headers["Cookie"] else { return nil }
        return cookie(cookieName, in: cookieHeader)
    }

    /// RFC 6265 §5.2 `name=value; name2=value2`; the first cookie with the exact name wins and a
    /// DQUOTE-wrapped value is unwrapped.
    package static func cookie(_ name: String, in header: String) -> String? {
        for pair in header.split(separator: ";") {
            let pair = pair.trimmingJWTWhitespace()
            guard let eq = pair.firstIndex(of: "="), pair[..<eq].trimmingJWTWhitespace() == name else { continue }
            var value = pair[pair.index(after: eq)...].trimmingJWTWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingJWTWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
