import Foundation
import Glibc
import Synchronization

/// The durable record of streamed content that could not be confirmed as saved (SPEC §8.2):
/// JSON lines appended to `store.dir/saves.journal` and fsync'd before the client is told its
/// `save_id`, so nothing acknowledged is lost if the process dies. Rare path: the write blocks.
public final class SaveJournal: Sendable {
    public let path: String
    private let lock = Mutex<Void>(())

    public init(directory: String) {
        path = (directory as NSString).appendingPathComponent("saves.journal")
    }

    public struct Entry: Sendable {
        public var id: String
        /// Whose content it is: `user:u1` or `ip:…`; only they may retry it.
        public var identity: String
        public var user: String?
        public var route: String
        public var reason: String
        public var method: String
        public var url: String
        public var body: String
        public var content: String
    }

    /// Appends and fsyncs; false when the disk refused (the caller then says so to the client).
    public func append(_ e: Entry, now: Double) -> Bool {
        let line = JSONText.object([
            ("id", JSONText.quote(e.id)), ("time", JSONText.number(now)), ("identity", JSONText.quote(e.identity)),
            ("user", e.user.map(JSONText.quote) ?? "null"),
            ("route", JSONText.quote(e.route)), ("reason", JSONText.quote(e.reason)), ("method", JSONText.quote(e.method)),
            ("url", JSONText.quote(e.url)), ("body", JSONText.quote(e.body)), ("content", JSONText.quote(e.content)),
        ]) + "\n"
        return lock.withLock { _ in
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            let bytes = Array(line.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return fsync(fd) == 0
        }
    }

    /// Every journaled entry as raw JSON lines (for ops and tests).
    public func lines() -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    /// Journaled entries by id, newest last (a later line for the same id replaces the earlier).
    public func entries() -> [(id: String, json: JSONValue)] {
        lock.withLock { _ in readEntries() }
    }

    private func readEntries() -> [(id: String, json: JSONValue)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var out: [(id: String, json: JSONValue)] = []
        for line in text.split(separator: "\n") {
            guard let v = try? JSONValue.parse(Array(line.utf8)), case .string(let id)? = v["id"] else { continue }
            out.removeAll { $0.id == id }
            out.append((id, v))
        }
        return out
    }

    public func entry(_ id: String) -> JSONValue? { entries().first { $0.id == id }?.json }

    /// Removes an entry (a replay succeeded or ops deleted it): rewrite to a temp file, fsync, rename.
    @discardableResult
    public func remove(_ id: String) -> Bool {
        lock.withLock { _ in
            let all = readEntries()
            guard all.contains(where: { $0.id == id }) else { return false }
            let text = all.filter { $0.id != id }.map { $0.json.jsonText() + "\n" }.joined()
            let tmp = path + ".tmp"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return false }
            let bytes = Array(text.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { if errno == EINTR { continue }; close(fd); return false }
                off += n
            }
            let synced = fsync(fd) == 0
            close(fd)
            return synced && rename(tmp, path) == 0
        }
    }

    public var depth: Int { entries().count }
}

