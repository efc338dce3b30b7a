import RampartHTTP
import RampartLoop
import RampartTransport
/// A compact JWS split into its three base64url parts (RFC 7515 §7.1). All three are decoded
/// strictly up front (cheap, and any bad encoding is `malformed`); the JSON is parsed on demand
/// so the payload is only read once the signature holds.
struct JWTCompact {
    /// The exact bytes the signature covers: `base64url(header) "." base64url(payload)`.
    let signingInput: ArraySlice<UInt8>
    package let headerBytes: [UInt8]
    package let payloadBytes: [UInt8]
    package let signature: [UInt8]

    package init(_ token: String, maxBytes: Int) throws(JWTError) {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw JWTError(.malformed, "empty token") }
        guard bytes.count <= maxBytes else { throw JWTError(.malformed, "token is \(bytes.count) bytes, over \(maxBytes)") }
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { throw JWTError(.malformed, "token has \(dots.count + 1) parts, not 3") }
        guard let header = Base64URL.decode(bytes[..<dots[0]]) else { throw JWTError(.malformed, "header is not base64url") }
        guard let payload = Base64URL.decode(bytes[(dots[0] + 1)..<dots[1]]) else { throw JWTError(.malformed, "payload is not base64url") }
        guard let signature = Base64URL.decode(bytes[(dots[1] + 1)...]) else { throw JWTError(.malformed, "signature is not base64url") }
        signingInput = bytes[..<dots[1]]
        headerBytes = header
        payloadBytes = payload
        self.signature = signature
    }

    package func header() throws(JWTError) -> JSONValue {
        let header = try Self.object(headerBytes, part: "header")
        // RFC 7515 §4.1.11: unknown critical extensions (e.g. b64=false) must make the token invalid.
        if header["crit"] != nil { throw JWTError(.malformed, "header \"crit\" extensions are not supported") }
        return header
    }

    package func payload() throws(JWTError) -> JSONValue {
        try Self.object(payloadBytes, part: "payload")
    }

    /// A JSON object with unique member names: duplicates are read differently by different
    /// parsers (first vs last wins), which is how claims get smuggled past one of them.
    private static func object(_ bytes: [UInt8], part: String) throws(JWTError) -> JSONValue {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes, maxDepth: 32) } catch { throw JWTError(.malformed, "\(part) is not JSON: \(error)") }
        guard case .object(let members) = value else { throw JWTError(.malformed, "\(part) is not a JSON object") }
        var seen = Set<String>()
        for member in members where !seen.insert(member.key).inserted {
            throw JWTError(.malformed, "\(part) repeats \(member.key.jwtQuoted)")
        }
        return value
    }
}
