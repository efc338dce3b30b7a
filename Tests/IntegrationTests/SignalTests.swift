import Foundation
import Glibc
import Testing

/// Rampart reads SIGTERM, SIGINT and SIGHUP from a signalfd, which works only if it blocks them
/// itself before its threads start. The test runner's threads block some signals already and a
/// child inherits its parent's mask, so every child here starts through `CleanSignals`: nothing
/// blocked, every action at its default, as under systemd or a container runtime. A Rampart that
/// lost its own mask would die of the first SIGHUP and exit by SIGTERM without draining.
@Suite(.serialized) struct SignalTests {
    /// `/proc/PID/status` fields of a process: SigBlk (blocked) and SigIgn (ignored), hex masks.
    static func signalMasks(of lines: [String]) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "SigBlk" || parts[0] == "SigIgn", let v = UInt64(parts[1], radix: 16) { out[parts[0]] = v }
        }
        return out
    }

    @Test func childrenStartWithNoSignalBlockedOrIgnored() throws {
        let clean = try ChildProcess("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        #expect(try clean.waitForExit() == 0)
        let masks = Self.signalMasks(of: clean.lines)
        // SigIgn may keep signals 32 and 33, glibc's own real-time ones, which no program can set.
        #expect(masks["SigBlk"] == 0 && masks["SigIgn"].map { $0 & 0x7FFF_FFFF } == 0, "\(clean.lines)")

        // What the shim undoes: a child spawned straight from a test thread. Whatever the runner
        // blocks here (SIGTERM on this machine's runs), the shim's children never see it.
        let inherited = try ChildProcess("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"], cleanSignals: false)
        #expect(try inherited.waitForExit() == 0)
        let runner = Self.signalMasks(of: inherited.lines)
        print("signal masks a child inherits from the test runner: \(runner.mapValues { String($0, radix: 16) })")
    }

    /// SIGHUP reloads, SIGTERM drains and exits 0, each delivered to a Rampart whose parent
    /// blocked nothing; the exit is a normal one, not death by the signal.
    @Test func sighupReloadsAndSigtermDrainsWithNothingBlockedByTheParent() throws {
        let app = try DemoApp()
        let config = testConfig(upstream: app.url, server: #""drain_delay": "0s", "drain_timeout_ms": 5000"#)
        let rampart = try RampartProcess(config: config)
        let masks = Self.signalMasks(of: try String(contentsOfFile: "/proc/\(rampart.child.pid)/status", encoding: .utf8).components(separatedBy: "\n"))
        let controlSignals = UInt64(1) << (SIGHUP - 1) | UInt64(1) << (SIGINT - 1) | UInt64(1) << (SIGTERM - 1)
        #expect(masks["SigBlk"].map { $0 & controlSignals == controlSignals } == true,
                "Rampart's main thread blocks SIGHUP, SIGINT and SIGTERM itself for its signalfd: \(masks)")

        try rampart.rewriteConfig(config.replacingOccurrences(of: "\"DENY\"", with: "\"DENY\", \"X-Reloaded\": \"by-sighup\""))
        rampart.child.signal(SIGHUP)
        try eventually("the reload by SIGHUP") { try HTTPClient.request(port: rampart.port, path: "/echo").header("X-Reloaded") == "by-sighup" }
        #expect(rampart.child.process.isRunning, "SIGHUP must reload, not kill")

        rampart.child.signal(SIGTERM)
        _ = try rampart.child.waitForLine(containing: "SIGTERM received; draining")
        #expect(try rampart.child.waitForExit() == 0)
        #expect(rampart.child.process.terminationReason == .exit, "Rampart exited by itself, not by the signal")
        #expect(rampart.child.lines.contains { $0.contains("drained; exiting") }, "\(rampart.child.lines.suffix(5))")
    }

    @Test func sigintStopsWithoutTheDelayWithNothingBlockedByTheParent() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""drain_delay": "60s""#))
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo").status == 200)
        rampart.child.signal(SIGINT)
        _ = try rampart.child.waitForLine(containing: "SIGINT received")
        // drain_delay is a minute: only SIGINT's no-delay path exits within the wait.
        #expect(try rampart.child.waitForExit(timeout: 30) == 0)
        #expect(rampart.child.process.terminationReason == .exit)
    }
}
