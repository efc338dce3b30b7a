import COpenSSL
import Foundation
import Glibc

/// `GET /ws/echo` with `Upgrade: websocket`: the demo app's socket, so an unmodified app's
/// WebSocket can be tried through Rampart (the walkthrough, the browser test, the bench). Each
/// message comes back as it came (text or binary, fragments joined); pings get pongs; a close is
/// answered and ends the connection. Text commands drive tests: `close:<code>` makes the app close
/// with that code, `flood:<count>:<bytes>` sends that many binary messages of that size at once,
/// `big:<bytes>` sends one text message of that size.
enum DemoWebSocket {
    static func isUpgrade(_ req: Request) -> Bool {
        req.header("Upgrade")?.lowercased().contains("websocket") == true
    }

    static func serve(_ conn: Connection, _ req: Request) {
        guard req.path == "/ws/echo", req.method == "GET", let key = req.header("Sec-WebSocket-Key") else {
            let body = Array("{\"error\":{\"type\":\"not_found\",\"message\":\"no WebSocket at \(req.path)\"}}".utf8)
            conn.write(Array("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body)
            return
        }
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Accept: \(accept(key))\r\n"
        if let proto = req.header("Sec-WebSocket-Protocol")?.split(separator: ",").first {
            head += "Sec-WebSocket-Protocol: \(proto.trimmingCharacters(in: .whitespaces))\r\n"
        }
        guard conn.write(Array((head + "\r\n").utf8)) else { return }
        var message: [UInt8] = []
        var opcode: UInt8 = 1
        while let (fin, op, payload) = readFrame(conn) {
            switch op {
            case 0x8:
                conn.write(frame(0x8, Array(payload.prefix(2))))
                return
            case 0x9: conn.write(frame(0xA, payload))
            case 0xA: break
            default:
                if op != 0 { opcode = op; message = [] }
                message += payload
                guard fin else { continue }
                if opcode == 1, let command = String(validating: message, as: UTF8.self), run(command, conn) { continue }
                if !conn.write(frame(opcode, message)) { return }
                message = []
            }
        }
    }

    /// The test commands; true when `text` was one.
    private static func run(_ text: String, _ conn: Connection) -> Bool {
        let parts = text.split(separator: ":")
        switch parts.first {
        case "close" where parts.count == 2:
            let code = UInt16(parts[1]) ?? 1000
            conn.write(frame(0x8, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("demo close".utf8)))
            conn.close()
            return true
        case "flood" where parts.count == 3:
            let count = Int(parts[1]) ?? 0, size = Int(parts[2]) ?? 0
            let one = frame(0x2, [UInt8](repeating: 0x61, count: max(0, min(size, 1 << 24))))
            for _ in 0..<max(0, min(count, 1_000_000)) where !conn.write(one) { return true }
            return true
        case "big" where parts.count == 2:
            conn.write(frame(0x1, [UInt8](repeating: 0x62, count: max(0, min(Int(parts[1]) ?? 0, 1 << 26)))))
            return true
        default:
            return false
        }
    }

    /// One frame from the client (masked, as RFC 6455 requires of clients); nil when the connection ends.
    private static func readFrame(_ conn: Connection) -> (Bool, UInt8, [UInt8])? {
        var h: [UInt8] = []
        do {
            try conn.read(count: 2, into: &h)
            var length = Int(h[1] & 0x7F)
            if length >= 126 {
                var ext: [UInt8] = []
                try conn.read(count: length == 126 ? 2 : 8, into: &ext)
                length = ext.reduce(0) { $0 << 8 | Int($1) }
            }
            var mask: [UInt8] = []
            if h[1] & 0x80 != 0 { try conn.read(count: 4, into: &mask) }
            guard length <= 1 << 26 else { return nil }
            var payload: [UInt8] = []
            try conn.read(count: length, into: &payload)
            if mask.count == 4 { for i in payload.indices { payload[i] ^= mask[i & 3] } }
            return (h[0] & 0x80 != 0, h[0] & 0x0F, payload)
        } catch {
            return nil
        }
    }

    /// A server frame (unmasked).
    static func frame(_ opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x80 | opcode]
        if payload.count < 126 { out.append(UInt8(payload.count)) }
        else if payload.count <= 0xFFFF { out += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] }
        else { out.append(127); for i in (0..<8).reversed() { out.append(UInt8((payload.count >> (i * 8)) & 0xFF)) } }
        return out + payload
    }

    private static func accept(_ key: String) -> String {
        let input = Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        var size: UInt32 = 0
        _ = EVP_Digest(input, input.count, &digest, &size, EVP_sha1(), nil)
        return Data(digest).base64EncodedString()
    }
}
