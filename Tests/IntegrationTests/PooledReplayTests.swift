import Foundation
import Testing

/// A pooled upstream connection the server closed just as Rampart reused it (the race with the
/// server's keep-alive timeout): the request goes again, once, on a fresh connection, byte for
/// byte the same, and the client never sees the failure.
@Suite(.serialized) struct PooledReplayTests {
    @Test func aRequestLostOnADeadPooledConnectionIsReplayedWhole() throws {
        // The first connection answers its first request, then drops the second unanswered.
        let raw = try RawUpstream(closeWithoutAnswer: { connection, request in connection == 0 && request == 1 },
                                  response: RawUpstream.fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, server: #""workers": 1"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/first", close: false))
        let first = try c.readResponse()
        #expect(first.status == 200 && first.text == "ok", "\(first.status) \(first.text)")

        let body = Array("{\"replayed\": \"the whole body\"}".utf8)
        try c.send(HTTPClient.requestText(method: "PUT", path: "/second", body: body, headers: ["Content-Type": "application/json"], close: false))
        let second = try c.readResponse(method: "PUT")
        #expect(second.status == 200 && second.text == "ok", "the client sees the answer, not the dropped connection: \(second.status) \(second.text)")

        let connections = raw.connections
        try #require(connections.count == 2, "one fresh connection for the replay, got \(connections.count)")
        let firstRequestEnd = try #require(RawUpstream.find(Array("\r\n\r\n".utf8), in: connections[0])) + 4
        let lost = Array(connections[0][firstRequestEnd...])
        #expect(String(decoding: lost, as: UTF8.self).hasPrefix("PUT /second HTTP/1.1\r\n"), "\(String(decoding: lost, as: UTF8.self))")
        #expect(lost.suffix(body.count).elementsEqual(body), "the lost request carried its body")
        #expect(connections[1] == lost, "the replay is the lost request, head and body, byte for byte")
    }
}
