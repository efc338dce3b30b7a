/// The frames Rampart writes itself (pings, closes) and the reading of a close frame's payload.
/// Frames toward an upstream are masked (Rampart is the client there, §5.3); frames toward a
/// client are not.
public enum WebSocketFrames {
    /// One complete frame with `payload` (at most 125 bytes: only control frames are made here).
    public static func control(_ opcode: UInt8, payload: [UInt8], mask: UInt32?) -> [UInt8] {
        let body = payload.prefix(125)
        var out: [UInt8] = [0x80 | opcode, UInt8(body.count) | (mask == nil ? 0 : 0x80)]
        out.reserveCapacity(6 + body.count)
        guard let mask else { out.append(contentsOf: body); return out }
        let key = [UInt8(mask >> 24), UInt8(truncatingIfNeeded: mask >> 16), UInt8(truncatingIfNeeded: mask >> 8), UInt8(truncatingIfNeeded: mask)]
        out.append(contentsOf: key)
        for (i, b) in body.enumerated() { out.append(b ^ key[i & 3]) }
        return out
    }

    /// A close frame: the code, then a UTF-8 reason cut to fit the 125-byte limit on a character boundary.
    public static func close(_ code: WebSocketCloseCode, reason: String, mask: UInt32?) -> [UInt8] {
        var payload = [UInt8(code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        var room = 123
        for scalar in reason.unicodeScalars {
            let utf8 = Array(String(scalar).utf8)
            guard utf8.count <= room else { break }
            payload.append(contentsOf: utf8)
            room -= utf8.count
        }
        return control(WebSocketOpcode.close, payload: payload, mask: mask)
    }

    public static func ping(_ payload: [UInt8], mask: UInt32?) -> [UInt8] { control(WebSocketOpcode.ping, payload: payload, mask: mask) }

    /// XORs `bytes` with the frame's masking key, `offset` bytes into the frame's payload.
    public static func unmask(_ bytes: inout [UInt8], mask: UInt32, offset: Int) {
        for i in bytes.indices {
            let shift = UInt32(3 - ((offset + i) & 3)) * 8
            bytes[i] ^= UInt8(truncatingIfNeeded: mask >> shift)
        }
    }

    /// The code of a close frame's (unmasked) payload: none given is 1005, as the RFC reports it.
    public static func closeCode(_ payload: [UInt8]) -> UInt16 {
        payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005
    }
}

/// What makes a request an RFC 6455 opening handshake, checked before any route or upstream sees it.
public enum WebSocketHandshake {
    public static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The request asks to switch to WebSocket: `Connection` lists `upgrade` (without it an
    /// `Upgrade` field means nothing, RFC 9110 §7.8) and an `Upgrade` field lists `websocket`.
    /// The first test is all a plain request pays: its connection tokens are already parsed.
    public static func asksForWebSocket(_ head: HTTPRequestHead) -> Bool {
        guard !head.connectionTokens.isEmpty, head.connectionTokens.containsToken("upgrade") else { return false }
        return head.headers.values("Upgrade").contains { hasToken($0, "websocket") }
    }

    /// Why the handshake is invalid (§4.2.1), nil when it is valid.
    public static func problem(_ head: HTTPRequestHead) -> String? {
        if head.method != "GET" { return "a WebSocket handshake must be a GET" }
        if head.versionMinor < 1 { return "a WebSocket handshake needs HTTP/1.1" }
        if head.framing != .none { return "a WebSocket handshake carries no body" }
        if !head.connectionTokens.containsToken("upgrade") { return "Connection must list upgrade" }
        let versions = head.headers.values("Sec-WebSocket-Version")
        if versions.count != 1 || versions[0] != "13" { return "Sec-WebSocket-Version must be 13" }
        let keys = head.headers.values("Sec-WebSocket-Key")
        if keys.count != 1 || !isNonce(keys[0]) { return "Sec-WebSocket-Key must be a base64 16-byte nonce" }
        return nil
    }

    /// 16 bytes in base64: 22 characters of the alphabet, then "==".
    static func isNonce(_ key: String) -> Bool {
        let b = Array(key.utf8)
        guard b.count == 24, b[22] == UInt8(ascii: "="), b[23] == UInt8(ascii: "=") else { return false }
        return b[0..<22].allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
        }
    }

    /// Whether a comma-separated field value lists `token` (case-insensitive).
    public static func hasToken(_ value: String, _ token: String) -> Bool {
        value.split(separator: ",").contains { $0.trimmingSpaces().asciiCaseInsensitiveEquals(token) }
    }
}
