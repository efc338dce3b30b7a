import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Glibc
import Testing
@testable import Rampart

@Suite(.serialized)
struct RedisClientTests {
    typealias Reply = Result<RESPValue, RedisError>

    private func client(_ url: String, on t: TestLoopThread, _ options: RedisClient.Options = .init()) throws -> RedisClient {
        RedisClient(url: try RedisURL.parse(url), loop: t.loop, options: options)
    }

    @Test func pipelinesAThousandCommandsInOrder() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let c = try client(server.url, on: t)
        let replies: [Reply]? = await t.call { done in
            var got: [Reply] = []
            // All 1,000 are sent in one loop iteration: written as one coalesced buffer, answered FIFO.
            for i in 0..<1000 {
                let args = i % 2 == 0 ? ["INCR", "counter"] : ["ECHO", "m\(i)"]
                c.send(args) { r in
                    got.append(r)
                    if got.count == 1000 { done(got) }
                }
            }
        }
        let all = try #require(replies)
        for (i, r) in all.enumerated() {
            if i % 2 == 0 { #expect(try r.get() == .integer(Int64(i / 2 + 1)), "reply \(i)") }
            else { #expect(try r.get() == .bulk("m\(i)"), "reply \(i)") }
        }
        #expect(c.isHealthy && c.lastError == nil)
        #expect(c.stats.connects == 1)
        await t.sync { c.close() }
    }

    @Test func serverErrorsFailOnlyTheirCommand() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let c = try client(server.url, on: t)
        let replies: [Reply]? = await t.call { done in
            var got: [Reply] = []
            for args in [["SET", "s", "x"], ["INCR", "s"], ["GET", "s"], ["NOSUCHCOMMAND"], ["GET", "missing"]] {
                c.send(args) { r in got.append(r); if got.count == 5 { done(got) } }
            }
        }
        let r = try #require(replies)
        #expect(try r[0].get() == .simpleString("OK"))
        guard case .failure(.server(let m)) = r[1] else { Issue.record("INCR on text: \(r[1])"); return }
        #expect(m.hasPrefix("ERR"))
        #expect(try r[2].get() == .bulk("x"))
        guard case .failure(.server) = r[3] else { Issue.record("unknown command: \(r[3])"); return }
        #expect(try r[4].get() == .null)
        #expect(c.isHealthy)
        await t.sync { c.close() }
    }

    @Test func authenticatesAndSelectsTheDatabase() async throws {
        let server = try RedisServerProcess(extraArgs: ["--requirepass", "s3cret"])
        let t = TestLoopThread()
        let c = try client("redis://:s3cret@127.0.0.1:\(server.port)/3", on: t)
        let set: Reply? = await t.call { done in c.send(["SET", "where", "db3"]) { done($0) } }
        #expect(try set?.get() == .simpleString("OK"))
        #expect(try server.command(["GET", "where"], db: 3, password: "s3cret") == .bulk("db3"))
        #expect(try server.command(["GET", "where"], db: 0, password: "s3cret") == .null)
        #expect(c.isHealthy)
        await t.sync { c.close() }

        // A wrong password: never healthy, the reason is reported, commands fail.
        let bad = try client("redis://:wrong@127.0.0.1:\(server.port)/0", on: t)
        let r: Reply? = await t.call { done in bad.send(["PING"]) { done($0) } }
        guard case .failure(let e)? = r else { Issue.record("PING with a bad password: \(String(describing: r))"); return }
        #expect(e.isUnavailability)
        #expect(!bad.isHealthy)
        #expect(bad.lastError?.contains("AUTH failed") == true, "\(bad.lastError ?? "nil")")
        #expect(bad.lastError?.contains("wrong") == false)
        await t.sync { bad.close() }
    }

    @Test func outageFailsFastAndTheClientRecovers() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let c = try client(server.url, on: t, .init(commandTimeoutMs: 120_000))
        let ping: Reply? = await t.call { done in c.send(["PING"]) { done($0) } }
        #expect(try ping?.get() == .simpleString("PONG"))
        #expect(c.isHealthy)

        // A command Redis holds (BLPOP with no timeout) is in flight when Redis dies: it fails because
        // the connection dropped, not by the (two-minute) command timeout.
        let inFlight: Reply? = await t.call(timeout: 60) { done in
            c.send(["BLPOP", "never", "0"]) { done($0) }
            c.loop.schedule(afterMs: 50) { server.stop() }
        }
        guard case .failure(let e)? = inFlight else { Issue.record("BLPOP during outage: \(String(describing: inFlight))"); return }
        #expect(e.isUnavailability)
        if case .connectionLost = e {} else { Issue.record("the in-flight command failed by \(e), not by the dropped connection") }
        #expect(!c.isHealthy)
        #expect(c.lastError != nil)

        // While down, new commands fail immediately: inside `send`, with no round trip or timer.
        for _ in 0..<3 {
            let down: Reply? = await t.sync { var got: Reply?; c.send(["PING"]) { got = $0 }; return got }
            guard case .failure(let e)? = down else { Issue.record("PING while down, answered in the call: \(String(describing: down))"); return }
            #expect(e.isUnavailability)
            try await Task.sleep(for: .milliseconds(150))   // through the backoff and reconnect attempts
        }
        #expect(!c.isHealthy)

        // Redis comes back on the same port: the same client reconnects in the background.
        try server.start()
        #expect(await eventually(timeout: 6) { c.isHealthy })
        #expect(c.lastError == nil)
        let again: Reply? = await t.call { done in c.send(["PING"]) { done($0) } }
        #expect(try again?.get() == .simpleString("PONG"))
        #expect(c.stats.connects >= 2 && c.stats.disconnects >= 1)
        await t.sync { c.close() }
    }

    @Test func aTimedOutCommandFailsAndResetsTheConnection() async throws {
        // A listener that never accepts: the kernel completes the handshake, nothing ever answers.
        let listenFd = try Socket.listen(SocketAddress(host: "127.0.0.1", port: 0), reusePort: false)
        defer { close(listenFd) }
        let port = Socket.boundPort(listenFd)
        let t = TestLoopThread()
        let c = try client("redis://127.0.0.1:\(port)", on: t, .init(commandTimeoutMs: 200))
        let started = Date()
        let replies: [Reply]? = await t.call(timeout: 30) { done in
            var got: [Reply] = []
            c.send(["PING"]) { got.append($0); if got.count == 2 { done(got) } }
            c.send(["PING"]) { got.append($0); if got.count == 2 { done(got) } }
        }
        let r = try #require(replies)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.18, "not before the 200 ms command timeout: \(elapsed)")
        // Both failed together; the oldest reports the timeout.
        #expect(r.contains { if case .failure(.timeout) = $0 { true } else { false } })
        #expect(r.allSatisfy { if case .failure(let e) = $0 { e.isUnavailability } else { false } })
        #expect(c.stats.timeouts == 1)
        await t.sync { c.close() }
    }

    @Test func unreachableRedisFailsWithinTheConnectTimeout() async throws {
        let port = try RedisServerProcess.freePort()   // nothing listens there
        let t = TestLoopThread()
        // A refused connect fails the command at once, long before a (two-minute) connect timeout.
        let c = try client("redis://127.0.0.1:\(port)", on: t, .init(connectTimeoutMs: 120_000))
        let r: Reply? = await t.call(timeout: 60) { done in c.send(["PING"]) { done($0) } }
        guard case .failure(let e)? = r else { Issue.record("PING to nothing: \(String(describing: r))"); return }
        #expect(e.isUnavailability)
        #expect(c.lastError?.contains("timed out") == false, "\(c.lastError ?? "nil")")
        #expect(!c.isHealthy)
        #expect(c.lastError?.contains("\(port)") == true, "\(c.lastError ?? "nil")")
        await t.sync { c.close() }
        let closed: Reply? = await t.call { done in c.send(["PING"]) { done($0) } }
        #expect(closed.map { if case .failure(.closed) = $0 { true } else { false } } == true)
    }

    @Test func resolvesHostNames() async throws {
        let server = try RedisServerProcess()
        guard case .success(let a) = SocketAddressBytes.resolve(host: "localhost", port: server.port), a.family == AF_INET else { return }
        let t = TestLoopThread()
        // "localhost." (trailing dot) is not special-cased, so it goes through getaddrinfo off the loop.
        let c = try client("redis://localhost.:\(server.port)", on: t)
        let r: Reply? = await t.call { done in c.send(["PING"]) { done($0) } }
        if case .failure(let e)? = r, case .unavailable(let m) = e, m.contains("resolve") { return }   // no resolver here
        #expect(try r?.get() == .simpleString("PONG"))
        await t.sync { c.close() }
    }
}
