import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Glibc
import Synchronization
import Testing
@testable import Rampart

/// A private redis-server child on a free loopback port (no persistence), stopped on deinit.
/// Without redis-server the tests that need one fail, loudly: `make test` installs it, so a
/// machine without it is broken, and a suite that skips would pass having tested nothing.
final class RedisServerProcess: @unchecked Sendable {
    static let executable: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":") + ["/usr/bin", "/usr/sbin"]
        return dirs.map { "\($0)/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let port: UInt16
    let extraArgs: [String]
    private let lock = Lock<Process?>(nil)

    init(extraArgs: [String] = []) throws {
        port = try Self.freePort()
        self.extraArgs = extraArgs
        try start()
    }

    deinit { stop() }

    var url: String { "redis://127.0.0.1:\(port)" }

    func start() throws {
        guard let executable = Self.executable else {
            throw RedisTestError("redis-server is not on PATH: `make test` installs it (Debian package redis-server)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                       "--daemonize", "no", "--loglevel", "warning"] + extraArgs
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        lock.withLock { $0 = p }
        try waitUntilAnswering()
    }

    /// Kills the server (SIGKILL: a child spawned from a test thread inherits a mask that blocks
    /// SIGTERM, and nothing is persisted anyway) and waits for it to exit.
    func stop() {
        guard let p = lock.withLock({ p -> Process? in let old = p; p = nil; return old }) else { return }
        let deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline {
            Glibc.kill(p.processIdentifier, SIGKILL)
            usleep(10_000)
        }
    }

    func waitUntilAnswering(timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let reply = try? command(["PING"]), reply == .simpleString("PONG") || reply.isError { return }
            usleep(20_000)
        }
        throw RedisTestError("redis-server on port \(port) did not answer PING")
    }

    /// One blocking command on a fresh connection (for test setup and assertions only).
    func command(_ args: [String], db: Int = 0, password: String? = nil) throws -> RESPValue {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RedisTestError("socket") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard let addr = SocketAddressBytes.numeric(host: "127.0.0.1", port: port) else { throw RedisTestError("no address for port \(port)") }
        let rc = addr.bytes.withUnsafeBytes { connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        guard rc == 0 else { throw RedisTestError("connect: \(errno)") }
        var wire: [UInt8] = []
        var expected = 1
        if let password { RESPEncoder.appendCommand(["AUTH", password], to: &wire); expected += 1 }
        if db != 0 { RESPEncoder.appendCommand(["SELECT", String(db)], to: &wire); expected += 1 }
        RESPEncoder.appendCommand(args, to: &wire)
        guard wire.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }) == wire.count else { throw RedisTestError("send") }
        var decoder = RESPDecoder()
        var replies: [RESPValue] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while replies.count < expected {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { throw RedisTestError("read: \(n)") }
            decoder.feed(buf[0..<n])
            while let v = try decoder.next() { replies.append(v) }
        }
        guard let last = replies.last else { throw RedisTestError("no reply") }
        return last
    }

    static func freePort() throws -> UInt16 {
        let fd = try Socket.listen(SocketAddress(host: "127.0.0.1", port: 0), reusePort: false)
        let p = Socket.boundPort(fd)
        close(fd)
        return p
    }
}

struct RedisTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension RESPValue {
    var isError: Bool { if case .error = self { return true } else { return false } }
}

/// An EventLoop running on its own thread, driven from async tests.
final class TestLoopThread: @unchecked Sendable {
    let loop: EventLoop
    private let thread: Thread

    init(index: Int = 0) {
        let loop = EventLoop(index: index)
        self.loop = loop
        thread = Thread { loop.run() }
        thread.name = "test-loop-\(index)"
        thread.start()
    }

    deinit { loop.stop() }

    /// Runs `body` on the loop; returns what it hands to `done`, or nil after `timeout` seconds.
    func call<T: Sendable>(timeout: Double = 10, _ body: @escaping (_ done: @escaping (T) -> Void) -> Void) async -> T? {
        let box = UncheckedBox(body)
        return await withCheckedContinuation { (cont: CheckedContinuation<T?, Never>) in
            let once = ResumeOnce(cont)
            loop.execute { [loop] in
                let timer = loop.schedule(afterMs: Int(timeout * 1000)) { once.resume(nil) }
                box.value { value in
                    loop.cancel(timer)
                    once.resume(value)
                }
            }
        }
    }

    /// Runs `body` on the loop and returns its result.
    func sync<T: Sendable>(_ body: @escaping () -> T) async -> T {
        let box = UncheckedBox(body)
        return await call { done in done(box.value()) }!
    }
}

/// Hands a loop-confined closure to the loop thread (the tests guarantee it is used only there).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let cont: Lock<CheckedContinuation<T, Never>?>
    init(_ c: CheckedContinuation<T, Never>) { cont = Lock(c) }
    func resume(_ value: T) {
        let c = cont.withLock { c -> CheckedContinuation<T, Never>? in let old = c; c = nil; return old }
        c?.resume(returning: value)
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
func eventually(timeout: Double = 5, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
