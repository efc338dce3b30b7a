import Foundation
import Glibc
import Testing

/// A connection Rampart cannot take is refused cleanly (SPEC §4's 503, then a close), never left
/// hanging: over `max_connections`, and when the process has no file descriptor left (nginx
/// pauses accepting there; before this, Rampart spun on the listener and the client waited).
@Suite(.serialized) struct AcceptRefusalTests {
    /// Connects, sends a request and reads the answer: a refused client gets the 503 even when the
    /// refusal was written before its request arrived.
    static func attempt(_ port: UInt16) -> (client: HTTPClient?, status: Int, code: String?) {
        guard let c = try? HTTPClient(port: port, timeout: 20) else { return (nil, 0, nil) }
        try? c.send(HTTPClient.requestText(method: "GET", path: "/echo", close: false))
        guard let r = try? c.readResponse() else { return (nil, 0, nil) }
        return (c, r.status, (r.json["error"] as? [String: Any])?["code"] as? String)
    }

    @Test func overTheConnectionCapTheClientGetsA503AndAClose() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""workers": 1, "max_connections": 2"#))
        var held: [HTTPClient] = []
        for _ in 0..<2 {   // (the loop scope keeps no second reference: dropping `held` closes them)
            let a = Self.attempt(rampart.port)
            #expect(a.status == 200, "a connection under the cap is served")
            held.append(try #require(a.client))
        }
        let c = try HTTPClient(port: rampart.port, timeout: 20)
        try? c.send(HTTPClient.requestText(method: "GET", path: "/echo", close: false))
        let r = try c.readResponse()
        #expect(r.status == 503 && (r.json["error"] as? [String: Any])?["code"] as? String == "OVERLOADED", "\(r.text)")
        #expect(r.header("Retry-After") == "1" && r.header("Connection") == "close")
        #expect(r.header("X-Frame-Options") == "DENY", "the refusal passes the finishing step like any answer")
        #expect(c.isClosedByPeer())
        held.removeAll()
        try eventually("a connection after the held ones closed") { Self.attempt(rampart.port).status == 200 }
        // At least this refusal (a retry above may have come before the closes were counted).
        #expect(try Self.refusals(rampart, "max_connections") >= 1)
    }

    /// The process is limited to 64 descriptors; connections are held until it runs out. The next
    /// client gets the 503 (through the spare descriptor), the process does not spin, and once
    /// clients leave it serves again.
    @Test func outOfDescriptorsTheClientGetsA503AndTheGatewayDoesNotSpin() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""workers": 1"#),
                                         launcher: ["/usr/bin/prlimit", "--nofile=64:64", "--"])
        var held: [HTTPClient] = []
        var refusal: (status: Int, code: String?)?
        for _ in 0..<100 {
            let a = Self.attempt(rampart.port)
            if a.status == 200, let c = a.client { held.append(c); continue }
            refusal = (a.status, a.code)
            break
        }
        let refused = try #require(refusal, "100 connections held under a 64-descriptor limit")
        #expect(refused.status == 503 && refused.code == "OVERLOADED", "after \(held.count) held: \(refused)")

        // Still out of descriptors: more clients are refused, and the loop sleeps between them.
        let before = try Self.cpuSeconds(pid: rampart.child.pid)
        for _ in 0..<5 { #expect(Self.attempt(rampart.port).status == 503) }
        usleep(1_500_000)
        let spent = try Self.cpuSeconds(pid: rampart.child.pid) - before
        #expect(spent < 1.0, "\(spent) s of CPU in 1.5 s while out of descriptors")

        held.removeAll()
        try eventually("a request served once clients left") { Self.attempt(rampart.port).status == 200 }
        #expect(try Self.refusals(rampart, "fd_limit") >= 6)
    }

    /// `rampart_connections_refused_total{reason=...}` from /metrics (-1 when the line is missing).
    static func refusals(_ rampart: RampartProcess, _ reason: String) throws -> Int {
        let metrics = try rampart.admin("GET", "/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("rampart_connections_refused_total{reason=\"\(reason)\"}") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    /// User plus system CPU time of a process, from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let comm = stat.range(of: ")", options: .backwards) else { throw TestFailure("unreadable /proc/\(pid)/stat: \(stat)") }
        let fields = stat[comm.upperBound...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
