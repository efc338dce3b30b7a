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
    package static func bearer(_ value: String) -> String? {
        let trimmed = value.trimmingJWTWhitespace()
        guard trimmed.count > 7, trimmed.prefix(6).lowercased() == "bearer", trimmed.dropFirst(6).first == " " else { return nil }
        let token = trimmed.dropFirst(7).trimmingJWTWhitespace()
        return token.isEmpty || token.contains(" ") ? nil : String(token)
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
