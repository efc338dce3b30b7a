import Foundation
import Testing

/// Saves, verifies and replays are upstream calls like any other: the route's deadlines bound
/// them, so an app that hangs on its save endpoint cannot hold a save or a replay forever.
@Suite(.serialized) struct SaveDeadlineTests {
    @Test func aHungSaveEndpointFailsTheSaveAndTheReplayAtFirstByte() throws {
        let sse = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"kept\"}}\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        // The stream answers; the save endpoint (PUT) never does.
        let raw = try RawUpstream { head in
            String(decoding: head, as: UTF8.self).hasPrefix("PUT ") ? []
                : Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(sse.utf8.count)\r\n\r\n\(sse)".utf8)
        }
        let routes = #"""
        [{"name": "gen", "match": {"methods": ["POST"], "path": "/gen"}, "timeouts": {"first_byte": "1s"},
          "stream_save": {"format": "anthropic", "save": {"method": "PUT", "url": "/saved", "attempts": 1}, "wait": "30s"}}]
        """#
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, routes: routes))
        let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/gen", body: Array("{}".utf8),
                                       headers: ["Content-Type": "application/json"])
        #expect(r.text.contains(#""success":false"#) && r.text.contains("save_id"), "\(r.text)")
        let id = try #require(r.text.components(separatedBy: #""save_id":""#).dropFirst().first?.components(separatedBy: "\"").first)

        let started = Date()
        let replay = try rampart.admin("POST", "/admin/saves/\(id)/replay")
        let took = Date().timeIntervalSince(started)
        #expect(replay.status == 502 && replay.text.contains(#""replayed":false"#), "\(replay.text)")
        #expect(took < 6, "the replay waited \(took) s on a hung app; first_byte is 1 s")
        #expect(try rampart.admin("GET", "/admin/saves/\(id)").status == 200, "a failed replay keeps the entry")
    }
}
