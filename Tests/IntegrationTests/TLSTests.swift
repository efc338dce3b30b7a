import Foundation
import Glibc
import Testing

/// Makes a self-signed certificate for 127.0.0.1 with the openssl CLI.
func makeCertificate(in dir: String) throws -> (cert: String, key: String) {
    let cert = dir + "/cert.pem", key = dir + "/key.pem"
    let p = try ChildProcess("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                                 "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                                                 "-addext", "subjectAltName=IP:127.0.0.1"])
    guard try p.waitForExit() == 0 else { throw TestFailure("openssl failed: \(p.lines.joined(separator: "\n"))") }
    return (cert, key)
}

private func tlsConfig(upstream: String, cert: String, key: String, extraServer: String = "") -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 1, "tls": {"cert_file": "\(cert)", "key_file": "\(key)"}\(extraServer)},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      "headers": {"set": {"X-Frame-Options": "DENY"}},
      "routes": [{"name": "default", "match": {"path_prefix": "/"}}]
    }
    """
}

func curl(_ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["--max-time", "20"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite(.serialized) struct TLSTests {
    @Test func terminatesTLSWithHSTSAndRejectsPlainHTTPAndStalledHandshakes() throws {
        let dir = NSTemporaryDirectory() + "rampart-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: dir)
        let app = try DemoApp()
        let rampart = try RampartProcess(config: tlsConfig(upstream: app.url, cert: cert, key: key, extraServer: #", "limits": {"header_timeout_ms": 1500}"#))

        let ok = try curl(["-s", "-i", "--cacert", cert, "https://127.0.0.1:\(rampart.port)/echo?tls=1"])
        #expect(ok.status == 0, "curl over TLS: \(ok.output.prefix(300))")
        let parts = ok.output.components(separatedBy: "\r\n\r\n")
        let head = try HTTPClient.parseHead(parts.first ?? "")
        #expect(head.status == 200)
        #expect(head.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains")
        let echo = (try? JSONSerialization.jsonObject(with: Data(parts.dropFirst().joined(separator: "\r\n\r\n").utf8))) as? [String: Any]
        let sent = (echo?["headers"] as? [[String]] ?? []).filter { $0.count == 2 }.map { ($0[0].lowercased(), $0[1]) }
        #expect(sent.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["https"], "the app hears the client came over TLS: \(sent)")

        // TLS 1.1 is refused.
        let old = try curl(["-s", "--cacert", cert, "--tls-max", "1.1", "https://127.0.0.1:\(rampart.port)/"])
        #expect(old.status != 0)

        // Plain HTTP on the TLS port fails cleanly: the connection is closed, nothing hangs.
        let plain = try HTTPClient(port: rampart.port)
        try plain.send(HTTPClient.requestText(method: "GET", path: "/echo"))
        #expect(plain.isClosedByPeer(timeout: 10))

        // A client that never finishes its handshake is dropped after header_timeout_ms.
        let stalled = try HTTPClient(port: rampart.port)
        try stalled.send([0x16, 0x03, 0x01])
        #expect(stalled.isClosedByPeer(timeout: 15))
    }

    @Test func httpsUpstreamsAreVerified() throws {
        let dir = NSTemporaryDirectory() + "rampart-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: dir)
        let app = try DemoApp()
        // A TLS upstream with a self-signed certificate nobody trusts: Rampart must refuse it.
        let tlsUpstream = try RampartProcess(config: tlsConfig(upstream: app.url, cert: cert, key: key))
        let front = try RampartProcess(config: testConfig(upstream: "https://127.0.0.1:\(tlsUpstream.port)"))
        let r = try HTTPClient.request(port: front.port, path: "/echo")
        #expect(r.status == 502)
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_ERROR")
    }
}
