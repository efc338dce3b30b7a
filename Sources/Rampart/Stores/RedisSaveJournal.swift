import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Foundation
import Synchronization

/// The save journal in Redis (a Stream of JSON lines plus an id → stream id Hash), so any replica
/// can list, replay and delete any save, and a save outlives the pod that journaled it (deploy
/// Redis with `appendonly yes`). Blocking, one round trip per call: the journal is a rare path and
/// the file journal already blocks on fsync.
///
/// Nothing acknowledged is lost while Redis is down: such an append goes to the local file journal
/// under `store.dir`, and reads cover both (a local entry, always the newer copy, wins). Whenever
/// Redis answers an append, a listing or `depth` again, the local entries move into Redis.
public final class RedisSaveJournal: SaveJournal {
    public let instance: String
    /// Where appends go while Redis cannot take them.
    public let fallback: FileSaveJournal
    private let connection: Lock<BlockingRedisConnection>

    public convenience init(url: RedisURL, directory: String, instance: String = SaveJournalInstance.current(), timeoutMs: Int = 2000) {
        self.init(target: .single(url), directory: directory, instance: instance, timeoutMs: timeoutMs)
    }

    public init(target: RedisTarget, directory: String, instance: String = SaveJournalInstance.current(), timeoutMs: Int = 2000) {
        self.instance = instance
        fallback = FileSaveJournal(directory: directory, instance: instance)
        connection = Lock(BlockingRedisConnection(target: target, timeoutMs: timeoutMs))
    }

    public var lastError: String? { connection.withLock { $0.lastError } ?? fallback.lastError }

    public func append(_ e: SaveJournalEntry, now: Double) -> Bool { append([(e, now)])[0] }

    /// Group commit: every entry's script in one pipelined round trip (and one `WAIT` on a
    /// cluster); what Redis did not take goes to the local file, in one fsync.
    public func append(_ batch: [(SaveJournalEntry, Double)]) -> [Bool] {
        // One id twice in a batch (journaled as pending, then as failed): only its last copy counts.
        var last: [String: Int] = [:]
        for (i, (e, _)) in batch.enumerated() { last[e.id] = i }
        let kept = batch.indices.filter { last[batch[$0].0.id] == $0 }
        let lines = kept.map { batch[$0].0.jsonLine(now: batch[$0].1, owner: instance) }
        var stored = [Bool](repeating: false, count: lines.count)
        // A cluster master that dies before its replica has an entry would lose it in the failover:
        // unconfirmed entries also go to the local file until Redis has them for sure.
        let commands = zip(kept, lines).map { Self.appendCommand(id: batch[$0].0.id, line: $1) }
        if let (replies, confirmed) = try? connection.withLock({ c throws(RedisError) in
            try c.runConfirmed(commands, waitMs: Self.replicaWaitMs)
        }), confirmed {
            for (i, reply) in replies.enumerated() { if case .error = reply {} else { stored[i] = true } }
        }
        let local = lines.indices.filter { !stored[$0] }
        if !local.isEmpty, fallback.appendLines(local.map { lines[$0] }, ids: local.map { batch[kept[$0]].0.id }) { for i in local { stored[i] = true } }
        if local.count < lines.count, !fallback.isEmpty {
            // Older copies written while Redis was down must not come back over the new ones.
            for i in lines.indices where stored[i] && !local.contains(i) { fallback.remove(batch[kept[i]].0.id) }
            moveFallbackToRedis()
        }
        let outcome = Dictionary(uniqueKeysWithValues: zip(kept.map { batch[$0].0.id }, stored))
        return batch.map { outcome[$0.0.id] ?? false }
    }

    private static func appendCommand(id: String, line: String) -> [String] {
        ["EVAL", RedisSaveJournalScripts.append, "2", RedisSaveJournalScripts.journalKey, RedisSaveJournalScripts.indexKey, id, line]
    }

    /// Redis entries first (oldest first), then local ones; an id in both is listed once, as local.
    public func entries() -> [(id: String, json: JSONValue)] {
        moveFallbackToRedis()
        let local = fallback.entries()
        let localIDs = Set(local.map(\.id))
        let shared = ((try? sharedEntries()) ?? []).filter { !localIDs.contains($0.id) }
        return shared.map { ($0.id, $0.json) } + local
    }

    public func entry(_ id: String) -> JSONValue? {
        if let local = fallback.entry(id) { return local }
        return try? sharedEntry(id)
    }

    @discardableResult
    public func remove(_ id: String) -> Bool {
        let local = fallback.remove(id)
        let shared = (try? command(["EVAL", RedisSaveJournalScripts.remove, "2", RedisSaveJournalScripts.journalKey,
                                    RedisSaveJournalScripts.indexKey, id]))?.int == 1
        return local || shared
    }

    /// Entries in Redis (its index) plus local ones; one id in both counts twice until it moves.
    public var depth: Int {
        moveFallbackToRedis()
        let shared = (try? command(["HLEN", RedisSaveJournalScripts.indexKey]))?.int.map(Int.init) ?? 0
        return shared + fallback.depth
    }

    public func lines() -> [String] {
        ((try? sharedEntries()) ?? []).map(\.line) + fallback.lines()
    }

    /// `SET rampart:{saves}:claim:<id> <instance> NX PX 300000`: the first replica to ask gets it
    /// for 5 minutes; false for the others, and when Redis cannot be asked. The holder may ask
    /// again (a container restarted twice within 5 minutes keeps its name and its claims).
    public func claim(_ id: String) -> Bool {
        let key = RedisSaveJournalScripts.claimKey(id)
        guard let reply = try? command(["SET", key, instance, "NX", "PX", RedisSaveJournalScripts.claimMilliseconds]) else { return false }
        if reply.string == "OK" { return true }
        return (try? command(["GET", key]))?.string == instance
    }

    /// Local pending entries, plus the shared ones `PendingSaveRule` gives this process and that
    /// it managed to claim.
    public func pendingToResume(now: Double) -> [String] {
        let all = entries()
        let localIDs = Set(fallback.entries().map(\.id))
        return all.filter { e in
            guard e.json["reason"] == .string("pending") else { return false }
            if localIDs.contains(e.id) { return true }   // only this process sees it
            return PendingSaveRule.mayResume(e.json, instance: instance, now: now) && claim(e.id)
        }.map(\.id)
    }

    // MARK: Redis

    private func command(_ args: [String]) throws(RedisError) -> RESPValue {
        try connection.withLock { c throws(RedisError) in try c.run(args) }
    }

    /// Stores one entry; false when a cluster master has replicas and none confirmed it (`WAIT`).
    private func store(id: String, line: String) throws(RedisError) -> Bool {
        let (replies, confirmed) = try connection.withLock { c throws(RedisError) in
            try c.runConfirmed([Self.appendCommand(id: id, line: line)], waitMs: Self.replicaWaitMs)
        }
        if case .error(let m)? = replies.first { throw .server(m) }
        return confirmed
    }

    /// How long an append waits for a replica to confirm it (cluster only).
    static let replicaWaitMs = 1000

    private struct SharedEntry { var id: String; var json: JSONValue; var line: String }

    /// `XRANGE journal - +`, oldest first; entries that do not parse are skipped.
    private func sharedEntries() throws(RedisError) -> [SharedEntry] {
        let reply = try command(["XRANGE", RedisSaveJournalScripts.journalKey, "-", "+"])
        var out: [SharedEntry] = []
        for item in reply.array ?? [] {
            guard let e = Self.parse(item) else { continue }
            out.removeAll { $0.id == e.id }
            out.append(e)
        }
        return out
    }

    /// `HGET index id`, then `XRANGE journal sid sid`.
    private func sharedEntry(_ id: String) throws(RedisError) -> JSONValue? {
        guard let sid = try command(["HGET", RedisSaveJournalScripts.indexKey, id]).string else { return nil }
        let reply = try command(["XRANGE", RedisSaveJournalScripts.journalKey, sid, sid])
        return reply.array?.first.flatMap(Self.parse).flatMap { $0.id == id ? $0.json : nil }
    }

    /// One XRANGE item: `[stream id, ["entry", json]]`.
    private static func parse(_ item: RESPValue) -> SharedEntry? {
        guard let pair = item.array, pair.count == 2, let fields = pair[1].array else { return nil }
        var i = 0
        while i + 1 < fields.count {
            if fields[i].string == "entry", let line = fields[i + 1].string,
               let json = try? JSONValue.parse(Array(line.utf8)), case .string(let id)? = json["id"] {
                return SharedEntry(id: id, json: json, line: line)
            }
            i += 2
        }
        return nil
    }

    /// Moves what the local file took while Redis was down into Redis (each entry removed locally
    /// only once Redis has it, confirmed by a replica on a cluster). Stops at the first entry Redis
    /// does not take, so a Redis still down costs one attempt per call. Cheap when the file is
    /// empty: one stat.
    private func moveFallbackToRedis() {
        guard !fallback.isEmpty else { return }
        for e in fallback.entries() {
            guard (try? store(id: e.id, line: e.json.jsonText())) == true else { return }
            fallback.remove(e.id)
        }
    }
}
