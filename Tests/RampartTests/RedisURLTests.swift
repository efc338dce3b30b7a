import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Glibc
import Testing
@testable import Rampart

@Suite struct RedisURLTests {
    @Test func parsesTheForms() throws {
        let cases: [(String, RedisURL)] = [
            ("redis://localhost", RedisURL(host: "localhost")),
            ("redis://redis:6379/0", RedisURL(host: "redis")),
            ("redis://10.0.0.5:6380/3", RedisURL(host: "10.0.0.5", port: 6380, database: 3)),
            ("redis://127.0.0.1:6379/", RedisURL(host: "127.0.0.1")),
            ("REDIS://h", RedisURL(host: "h")),
            ("redis://:s3cret@h:1/2", RedisURL(host: "h", port: 1, database: 2, password: "s3cret")),
            ("redis://s3cret@h", RedisURL(host: "h", password: "s3cret")),
            ("redis://app:p%40ss%3A@h", RedisURL(host: "h", username: "app", password: "p@ss:")),
            ("redis://[::1]:7000/1", RedisURL(host: "::1", port: 7000, database: 1)),
            ("redis://[::1]", RedisURL(host: "::1")),
            ("redis://:a@b@h", RedisURL(host: "h", password: "a@b")),
        ]
        for (text, expected) in cases {
            #expect(try RedisURL.parse(text) == expected, "\(text)")
        }
    }

    @Test(arguments: ["http://h", "rediss://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000",
                      "redis://h:x", "redis://h/x", "redis://h/-1", "redis://h/0?x=1", "redis://[::1", "redis://[::1]x",
                      "redis://:%zz@h", "redis://h h"])
    func rejects(_ text: String) {
        #expect(throws: RedisURL.ParseError.self) { try RedisURL.parse(text) }
    }

    @Test func descriptionRedactsThePassword() throws {
        #expect(try RedisURL.parse("redis://:hunter2@h:1/2").description == "redis://:***@h:1/2")
        #expect(try RedisURL.parse("redis://u:hunter2@[::1]").description == "redis://u:***@[::1]:6379/0")
        #expect(try RedisURL.parse("redis://h").description == "redis://h:6379/0")
    }

    @Test func numericAddressesNeedNoResolver() {
        #expect(SocketAddressBytes.numeric(host: "127.0.0.1", port: 1)?.family == AF_INET)
        #expect(SocketAddressBytes.numeric(host: "localhost", port: 1)?.family == AF_INET)
        #expect(SocketAddressBytes.numeric(host: "::1", port: 1)?.family == AF_INET6)
        #expect(SocketAddressBytes.numeric(host: "redis", port: 1) == nil)
        if case .failure = SocketAddressBytes.resolve(host: "localhost", port: 6379) { Issue.record("localhost did not resolve") }
        if case .success = SocketAddressBytes.resolve(host: "no-such-host.invalid", port: 6379) { Issue.record(".invalid resolved") }
    }
}
