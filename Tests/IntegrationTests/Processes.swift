import RampartLoop
import Foundation
import Synchronization
import Testing

/// Where the built binaries are: `make test` passes RAMPART_BIN_DIR; otherwise .build/debug.
enum Binaries {
    static var dir: String {
        if let d = ProcessInfo.processInfo.environment["RAMPART_BIN_DIR"], !d.isEmpty { return d }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug").path
    }
    static var rampart: String { dir + "/rampart" }
    static var demoApp: String { dir + "/rampart-demo-app" }
    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

struct TestFailure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

/// Polls `condition` until it holds or `timeout` passes: generous limits, no fixed sleeps.
func eventually(timeout: Double = 20, _ what: String = "condition", _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw TestFailure("timed out after \(timeout)s waiting for \(what)")
}

/// Children start the way a service manager starts a process: no signal blocked, every one at
/// its default action. A child inherits the signal mask of the thread that spawned it, and the
/// test runner's threads block some (SIGTERM and SIGINT among them), so without this a Rampart
/// that lost its own signal setup would still pass every signal test. A small python shim sets
/// the mask and the actions, then execs the command (same pid).
enum CleanSignals {
    static let python = "/usr/bin/python3"
    static let script = """
        import os, signal, sys
        for s in range(1, signal.NSIG):
            if s not in (signal.SIGKILL, signal.SIGSTOP):
                try: signal.signal(s, signal.SIG_DFL)
                except (OSError, ValueError): pass
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execvp(sys.argv[1], sys.argv[1:])
        """
    /// `argv` run through the shim.
    static func command(_ argv: [String]) -> [String] { [python, "-c", script] + argv }
}

/// A child process whose stdout lines are collected for assertions.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    /// What the reader thread fills; its own object, so the reader never keeps the ChildProcess
    /// (whose deinit kills the child) alive.
    private final class Captured: Sendable {
        let output = Lock<[String]>([])
        let partial = Lock<String>("")
        let sawEOF = Lock<Bool>(false)
    }
    private let captured = Captured()

    /// `cleanSignals: false` keeps the runner's mask (only to show what the shim changes).
    init(_ path: String, _ arguments: [String], environment: [String: String] = [:], cwd: String? = nil, cleanSignals: Bool = true) throws {
        let argv = cleanSignals ? CleanSignals.command([path] + arguments) : [path] + arguments
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.pipe = pipe
        try process.run()
        // The output is read by a thread of its own with plain blocking reads until EOF, not by a
        // FileHandle readability handler: a dispatch source still watching a pipe whose fd was
        // closed (and reused by the next test's socket) crashed libdispatch's manager thread.
        let fd = pipe.fileHandleForReading.fileDescriptor
        let reader = Thread { [captured] in
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                let lines: [String] = captured.partial.withLock { p in
                    p += text
                    var parts = p.components(separatedBy: "\n")
                    p = parts.removeLast()
                    return parts
                }
                captured.output.withLock { $0.append(contentsOf: lines) }
            }
            // EOF: keep a last line without a newline.
            let rest = captured.partial.withLock { p -> String in let r = p; p = ""; return r }
            if !rest.isEmpty { captured.output.withLock { $0.append(rest) } }
            captured.sawEOF.withLock { $0 = true }
        }
        reader.start()
    }

    /// Kept until the reader saw EOF, so its fd is not closed (and reused) under it.
    private var pipe: Pipe?

    var lines: [String] { captured.output.withLock { $0 } }
    var pid: Int32 { process.processIdentifier }

    func waitForLine(containing needle: String, timeout: Double = 30) throws -> String {
        var found: String?
        try eventually(timeout: timeout, "a line containing \(needle)") {
            if !process.isRunning && lines.first(where: { $0.contains(needle) }) == nil {
                throw TestFailure("process exited (\(process.terminationStatus)) before printing \(needle): \(lines.suffix(20).joined(separator: "\n"))")
            }
            found = lines.first { $0.contains(needle) }
            return found != nil
        }
        guard let found else { throw TestFailure("no line containing \(needle)") }
        return found
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Exit status, waiting up to `timeout` seconds.
    func waitForExit(timeout: Double = 30) throws -> Int32 {
        try eventually(timeout: timeout, "process exit") { !process.isRunning }
        // Its output may still be in the pipe: wait for EOF so callers see every line.
        try? eventually(timeout: 5, "output EOF") { captured.sawEOF.withLock { $0 } }
        return process.terminationStatus
    }

    /// Resident memory in bytes (from /proc).
    var rssBytes: Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        // The reader ends at EOF (every writer gone); a grandchild holding the pipe could keep it
        // open, so the wait is bounded.
        let deadline = Date().addingTimeInterval(5)
        while !captured.sawEOF.withLock({ $0 }) && Date() < deadline { usleep(5_000) }
    }

    deinit {
        stop()
        // A reader still blocked on the pipe keeps it: closing its fd under it would hand the
        // number to the next socket opened, and the reader would read that socket's bytes.
        if !captured.sawEOF.withLock({ $0 }), let pipe { ChildProcess.keptPipes.withLock { $0.append(pipe) } }
    }
    private static let keptPipes = Lock<[Pipe]>([])
}

/// The bundled demo app on an ephemeral port.
final class DemoApp: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16

    init() throws {
        child = try ChildProcess(Binaries.demoApp, ["--port", "0"])
        let line = try child.waitForLine(containing: "listening on")
        guard let p = line.split(separator: ":").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("cannot parse demo app port from \(line)")
        }
        port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Requests the demo app saw (excluding its /_demo control paths).
    func requestCount() throws -> Int {
        let r = try HTTPClient.request(port: port, method: "GET", path: "/_demo/stats")
        let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        return json?["requests"] as? Int ?? -1
    }

    func control(_ method: String, _ path: String, body: String = "") throws {
        _ = try HTTPClient.request(port: port, method: method, path: path, body: Array(body.utf8),
                                   headers: ["Content-Type": "application/json"])
    }
}

/// A real `rampart serve` process with a config written to a temp dir.
final class RampartProcess: @unchecked Sendable {
    static let adminToken = "test-admin-token-123"
    let child: ChildProcess
    let port: UInt16
    let adminPort: UInt16?
    let configPath: String
    let dir: String

    /// `launcher`: a command that runs the binary (e.g. `prlimit --nofile=64:64 --`).
    init(config: String, environment: [String: String] = [:], launcher: [String] = []) throws {
        dir = NSTemporaryDirectory() + "rampart-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        configPath = dir + "/gateway.json"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var env = ["RAMPART_ADMIN_TOKEN": Self.adminToken]
        for (k, v) in environment { env[k] = v }
        let command = launcher + [Binaries.rampart, "serve", "--config", configPath]
        child = try ChildProcess(command[0], Array(command.dropFirst()), environment: env, cwd: dir)
        let line = try child.waitForLine(containing: "rampart listening")
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        func port(_ key: String) -> UInt16? {
            (obj[key] as? String).flatMap { $0.split(separator: ":").last }.flatMap { UInt16($0) }
        }
        guard let p = port("listen") else { throw TestFailure("no listen port in \(line)") }
        self.port = p
        self.adminPort = port("admin")
    }

    func rewriteConfig(_ config: String) throws { try config.write(toFile: configPath, atomically: true, encoding: .utf8) }

    func admin(_ method: String, _ path: String, body: String = "", token: String? = RampartProcess.adminToken) throws -> HTTPClient.Response {
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        guard let adminPort else { throw TestFailure("this Rampart has no admin listener") }
        return try HTTPClient.request(port: adminPort, method: method, path: path, body: Array(body.utf8), headers: headers)
    }

    /// Access-log lines (JSON objects with "type":"access").
    var accessLog: [[String: Any]] {
        child.lines.compactMap { line in
            guard line.hasPrefix("{"), let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["type"] as? String == "access" else { return nil }
            return o
        }
    }

    deinit { child.stop(); try? FileManager.default.removeItem(atPath: dir) }
}

/// A config around one upstream, listening on ephemeral ports.
func testConfig(upstream: String, routes: String? = nil, server: String = "", extraTop: String = "", upstreamExtra: String = "") -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0"\(server.contains("workers") ? "" : ", \"workers\": 2")\(server.isEmpty ? "" : ", " + server)},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "upstreams": {"app": {"url": "\(upstream)"\(upstreamExtra.isEmpty ? "" : ", " + upstreamExtra)}},
      "headers": {"set": {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}, "remove": ["X-Powered-By", "Server"]},
      "routes": \(routes ?? #"[{"name": "default", "match": {"path_prefix": "/"}}]"#)\(extraTop.isEmpty ? "" : ",\n  " + extraTop)
    }
    """
}
