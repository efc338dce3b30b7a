import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation
import Glibc

/// The durable record of streamed content that could not be confirmed as saved (SPEC §8.2).
/// An append returns only once the entry is durable, because the client is told its `save_id`
/// right after. Synchronous: the loops reach it through `SaveJournalWriter`, on its own thread.
/// `FileSaveJournal` keeps it under `store.dir`; `RedisSaveJournal` keeps it in Redis so that
/// any replica can list and replay any save.
public protocol SaveJournal: AnyObject, Sendable {
    /// This process's name, stamped on every entry as `owner` (see `SaveJournalInstance`).
    var instance: String { get }
    /// Appends (replacing an entry with the same id) durably; false when nothing could store it.
    func append(_ e: SaveJournalEntry, now: Double) -> Bool
    /// Appends several at once (group commit: one fsync, one round trip); one answer per entry.
    func append(_ batch: [(SaveJournalEntry, Double)]) -> [Bool]
    /// Journaled entries by id, newest last.
    func entries() -> [(id: String, json: JSONValue)]
    func entry(_ id: String) -> JSONValue?
    /// Removes an entry (a replay succeeded or ops deleted it); false when it was not there.
    @discardableResult func remove(_ id: String) -> Bool
    var depth: Int { get }
    /// Every entry as a raw JSON line (for ops and tests).
    func lines() -> [String]
    /// Takes the right to resume a pending save, so that two replicas starting together never
    /// both replay it. Always true for a journal only this process reads.
    func claim(_ id: String) -> Bool
    /// Pending saves this process should send again at start (already claimed).
    func pendingToResume(now: Double) -> [String]
    /// The latest storage failure, nil when the last operation worked.
    var lastError: String? { get }
}

/// One save that could not be confirmed: where it was going and what it carried.
public struct SaveJournalEntry: Sendable {
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
    /// The upstream `url` is on (`stream_save.save.upstream` or the route's); entries journaled
    /// before saves could go elsewhere have none and replay where the route saves now.
    public var upstream: String?
    /// Why the output failed `validate` (a JSON array of `{field, message}`), for the reviewer.
    public var details: String?

    public init(id: String, identity: String, user: String?, route: String, reason: String, method: String, url: String,
                body: String, content: String, upstream: String? = nil, details: String? = nil) {
        self.id = id; self.identity = identity; self.user = user; self.route = route; self.reason = reason
        self.method = method; self.url = url; self.body = body; self.content = content; self.upstream = upstream
        self.details = details
    }

    /// The entry as one JSON line (no newline), as both journals store it.
    public func jsonLine(now: Double, owner: String) -> String {
        JSONText.object([
            ("id", JSONText.quote(id)), ("time", JSONText.number(now)), ("owner", JSONText.quote(owner)),
            ("identity", JSONText.quote(identity)), ("user", user.map(JSONText.quote) ?? "null"),
            ("route", JSONText.quote(route)), ("reason", JSONText.quote(reason)), ("method", JSONText.quote(method)),
            ("url", JSONText.quote(url)), ("body", JSONText.quote(body)), ("content", JSONText.quote(content)),
            ("upstream", upstream.map(JSONText.quote) ?? "null"),
        ] + (details.map { [("details", $0)] } ?? []))
    }
}

/// The name a process stamps on its journal entries: `RAMPART_INSTANCE`, else the hostname (a pod
/// name under Kubernetes). Replicas sharing one Redis must have distinct names.
public enum SaveJournalInstance {
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let name = environment["RAMPART_INSTANCE"], !name.isEmpty { return name }
        var buffer = [UInt8](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return gethostname(base.assumingMemoryBound(to: CChar.self), raw.count - 1)
        }
        let host = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return rc == 0 && !host.isEmpty ? host : "rampart-\(getpid())"
    }
}

/// Which pending entries of a shared journal a starting process resumes: its own (it died while
/// running them), or anyone's older than `orphanAfter` (no save runs that long, so that replica is
/// gone). A younger pending entry of another owner is still running somewhere else.
public enum PendingSaveRule {
    public static let orphanAfter: Double = 600

    public static func mayResume(_ entry: JSONValue, instance: String, now: Double) -> Bool {
        guard entry["reason"] == .string("pending") else { return false }
        guard case .string(let owner)? = entry["owner"], owner != instance else { return true }   // ours, or written before owners
        guard case .number(let time)? = entry["time"] else { return true }
        return now - time > orphanAfter
    }
}
