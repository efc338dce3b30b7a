import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Foundation
import Glibc
import Synchronization

/// The save journal as JSON lines in `store.dir/saves.journal`, fsync'd before the client is told
/// its `save_id`, so nothing acknowledged is lost if the process dies. Rare path: the write blocks.
/// Also the Redis journal's fallback while Redis is down.
public final class FileSaveJournal: SaveJournal {
    public let path: String
    public let instance: String
    /// Guards the file; holds the latest failure.
    private let lock = Lock<String?>(nil)
    /// The ids in the file, read once and then kept up to date, so `depth` costs no file read.
    private let ids = Lock<Set<String>?>(nil)

    public init(directory: String, instance: String = SaveJournalInstance.current()) {
        path = (directory as NSString).appendingPathComponent("saves.journal")
        self.instance = instance
    }

    public var lastError: String? { lock.withLock { $0 } }

    /// Appends and fsyncs; false when the disk refused (the caller then says so to the client).
    public func append(_ e: SaveJournalEntry, now: Double) -> Bool {
        appendLines([e.jsonLine(now: now, owner: instance)], ids: [e.id])
    }

    /// Group commit: every entry in one write and one fsync; all stored or none.
    public func append(_ batch: [(SaveJournalEntry, Double)]) -> [Bool] {
        let ok = appendLines(batch.map { $0.0.jsonLine(now: $0.1, owner: instance) }, ids: batch.map(\.0.id))
        return Array(repeating: ok, count: batch.count)
    }

    /// Appends already encoded entries (the Redis journal's fallback goes through here).
    func appendLines(_ lines: [String], ids added: [String]) -> Bool {
        guard !lines.isEmpty else { return true }
        let ok = lock.withLock { lastError in
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { lastError = "open \(path): \(String(cString: strerror(errno)))"; return false }
            defer { close(fd) }
            guard Self.writeAll(fd, Array(lines.map { $0 + "\n" }.joined().utf8)), fsync(fd) == 0 else {
                lastError = "write \(path): \(String(cString: strerror(errno)))"
                return false
            }
            lastError = nil
            return true
        }
        if ok { ids.withLock { $0?.formUnion(added) } }
        return ok
    }

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

    /// Removes an entry: rewrite to a temp file, fsync, rename.
    @discardableResult
    public func remove(_ id: String) -> Bool {
        let removed = lock.withLock { lastError in
            let all = readEntries()
            guard all.contains(where: { $0.id == id }) else { return false }
            let text = all.filter { $0.id != id }.map { $0.json.jsonText() + "\n" }.joined()
            let tmp = path + ".tmp"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { lastError = "open \(tmp): \(String(cString: strerror(errno)))"; return false }
            let synced = Self.writeAll(fd, Array(text.utf8)) && fsync(fd) == 0
            close(fd)
            guard synced, rename(tmp, path) == 0 else { lastError = "rewrite \(path): \(String(cString: strerror(errno)))"; return false }
            lastError = nil
            return true
        }
        if removed { ids.withLock { _ = $0?.remove(id) } }
        return removed
    }

    public var depth: Int {
        if let known = ids.withLock({ $0?.count }) { return known }
        let all = Set(entries().map(\.id))
        ids.withLock { $0 = all }
        return all.count
    }

    /// True when the file holds nothing (one stat, no read), so callers can skip reading it.
    public var isEmpty: Bool {
        var st = stat()
        return stat(path, &st) != 0 || st.st_size == 0
    }

    /// Always true: only this process reads this file.
    public func claim(_ id: String) -> Bool { true }

    /// Every pending entry: this file belongs to this `store.dir`, whatever the hostname was when
    /// it was written (a restarted pod may get a new name).
    public func pendingToResume(now: Double) -> [String] {
        entries().filter { $0.json["reason"] == .string("pending") }.map(\.id)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var off = 0
            while off < raw.count {
                let n = write(fd, base + off, raw.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
    }
}
