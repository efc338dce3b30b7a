import Foundation
import Testing

struct MalformedCase: Decodable { var name: String; var raw: String; var status: Int }

@Suite(.serialized) struct HygieneTests {
    /// Every case of the parser's corpus, through the real server: the JSON error with the right
    /// status, the connection closed, and nothing reaching the app.
    @Test func malformedRequestsAreRejectedAndNeverForwarded() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let url = URL(fileURLWithPath: Binaries.repoRoot + "/Tests/Fixtures/malformed-requests.json")
        let cases = try JSONDecoder().decode([MalformedCase].self, from: Data(contentsOf: url))
        #expect(cases.count >= 40)
        let before = try app.requestCount()
        for c in cases {
            let client = try HTTPClient(port: rampart.port)
            try client.send(Array(c.raw.utf8))
            let r = try client.readResponse()
            #expect(r.status == c.status, "\(c.name): got \(r.status)")
            let error = r.json["error"] as? [String: Any]
            #expect(error?["code"] is String, "\(c.name): JSON error body")
            #expect(error?["request_id"] is String)
            #expect(r.header("Connection") == "close", "\(c.name): announces close")
            #expect(client.isClosedByPeer(), "\(c.name): connection closed")
        }
        #expect(try app.requestCount() == before, "nothing was forwarded")
    }

    /// A client trickling its head gets 408 after header_timeout_ms while others are served.
    @Test func slowLorisIsCutOffWhileOthersAreServed() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""limits": {"header_timeout_ms": 1500}"#))
        let loris = try HTTPClient(port: rampart.port)
        try loris.send("GET /echo HTTP/1.1\r\nHost: x\r\n")
        let start = Date()
        var served = 0
        loris.setTimeout(0.1)
        var answer: HTTPClient.Response?
        while Date().timeIntervalSince(start) < 20 {
            try? loris.send("X-Slow-\(served): 1\r\n")
            if let r = try? loris.readResponse() { answer = r; break }
            #expect(try HTTPClient.request(port: rampart.port, path: "/echo").status == 200)
            served += 1
        }
        let r = try #require(answer, "the trickling client got an answer")
        #expect(r.status == 408)
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "REQUEST_TIMEOUT")
        #expect(served > 0, "other clients were served meanwhile")
        #expect(loris.isClosedByPeer())
    }

    /// max_connections caps sockets: beyond it, new connections are refused at once (503, then a close).
    @Test func maxConnectionsCapsSockets() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""workers": 1, "max_connections": 4"#))
        var clients = try (0..<6).map { _ in try HTTPClient(port: rampart.port) }
        var served = 0, refused = 0
        for c in clients {
            try? c.send(HTTPClient.requestText(method: "GET", path: "/echo", close: false))
            if let r = try? c.readResponse(), r.status == 200 { served += 1 } else { refused += 1 }
        }
        #expect(served == 4 && refused == 2, "served \(served), refused \(refused)")
        // Closing some frees room for new ones.
        clients.removeAll()
        try eventually {
            (try? HTTPClient.request(port: rampart.port, path: "/echo"))?.status == 200
        }
    }

    @Test func bodyOverTheLimitIs413() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""limits": {"body_bytes": 1000}"#))
        let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo", body: [UInt8](repeating: 65, count: 5000))
        #expect(r.status == 413 && (r.json["error"] as? [String: Any])?["code"] as? String == "PAYLOAD_TOO_LARGE")
        let c = try HTTPClient(port: rampart.port)
        try c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<3 { try? c.send("3e8\r\n" + String(repeating: "B", count: 1000) + "\r\n") }
        let rc = try c.readResponse()
        #expect(rc.status == 413)
    }
}
