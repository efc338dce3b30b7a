import Foundation

/// A scripted https upstream (Python's ssl module): answers each request with canned bytes picked
/// by its path, exactly as given, so the libcurl path meets the same malformed answers as
/// `RawUpstream` gives the native one. Self-signed: routes to it set `tls_verify: false`.
final class TLSRawUpstream: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16
    private let dir: String

    /// `responses`: request path -> the full response to write.
    init(responses: [String: String]) throws {
        dir = NSTemporaryDirectory() + "rampart-tlsraw-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: dir)
        let table = String(decoding: try JSONSerialization.data(withJSONObject: responses), as: UTF8.self)
        child = try ChildProcess("/usr/bin/env", ["python3", "-c", Self.script, cert, key, table])
        let line = try child.waitForLine(containing: "port ")
        guard let p = UInt16(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) else {
            throw TestFailure("cannot parse the TLS upstream's port from \(line)")
        }
        port = p
    }

    deinit { child.stop(); try? FileManager.default.removeItem(atPath: dir) }

    var url: String { "https://127.0.0.1:\(port)" }

    /// Reads request heads (the tests send no request bodies) and writes the canned answer.
    private static let script = #"""
    import json, socket, ssl, sys, threading
    cert, key, table = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print("port", s.getsockname()[1], flush=True)
    def serve(raw):
        try:
            c = ctx.wrap_socket(raw, server_side=True)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                c.sendall(table.get(path, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").encode("latin-1"))
        except Exception:
            pass
        finally:
            raw.close()
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    """#
}
