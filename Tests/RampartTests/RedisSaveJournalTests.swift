import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

private func entry(_ id: String, reason: String = "save_failed", content: String = "text") -> SaveJournalEntry {
    SaveJournalEntry(id: id, identity: "user:u1", user: "u1", route: "generate-chapter", reason: reason, method: "PUT",
                     url: "/api/chapters/c1/content", body: #"{"content":"\#(content)"}"#, content: content)
}

private func temporaryDirectory() -> String { NSTemporaryDirectory() + "rampart-journal-" + UUID().uuidString }

/// The Redis save journal against a private redis-server: what the file journal does, plus what
/// only a shared journal gives — entries seen by every replica, exclusive claims — and the local
/// file fallback while Redis is down.
@Suite(.serialized)
struct RedisSaveJournalTests {
    private func journal(_ server: RedisServerProcess, instance: String = "a", dir: String = temporaryDirectory()) throws -> RedisSaveJournal {
        RedisSaveJournal(url: try RedisURL.parse(server.url), directory: dir, instance: instance)
    }

    @Test func appendListEntryRemoveAndDepth() throws {
        let server = try RedisServerProcess()
        let j = try journal(server)
        #expect(j.entries().isEmpty && j.depth == 0)
        #expect(j.append(entry("s1", content: "one"), now: 100))
        #expect(j.append(entry("s2", content: "two"), now: 101))
        #expect(j.entries().map(\.id) == ["s1", "s2"], "newest last")
        #expect(j.depth == 2)
        let s1 = try #require(j.entry("s1"))
        #expect(s1["content"] == .string("one") && s1["owner"] == .string("a") && s1["time"] == .number(100))
        #expect(j.entry("nope") == nil)
        #expect(j.lines().count == 2)
        #expect(j.remove("s1"))
        #expect(!j.remove("s1"), "already gone")
        #expect(j.entries().map(\.id) == ["s2"] && j.depth == 1 && j.entry("s1") == nil)
        #expect(j.fallback.lines().isEmpty, "nothing went to the local file")
        #expect(try server.command(["XLEN", RedisSaveJournalScripts.journalKey]).int == 1, "the stream entry went too")
        #expect(j.lastError == nil)
    }

    @Test func appendingTheSameIDReplacesTheEntry() throws {
        let server = try RedisServerProcess()
        let j = try journal(server)
        #expect(j.append(entry("s1", reason: "pending"), now: 1))
        #expect(j.append(entry("s2"), now: 2))
        #expect(j.append(entry("s1", reason: "save_failed"), now: 3))
        #expect(j.entries().map(\.id) == ["s2", "s1"], "the replacement is the newest")
        #expect(j.entry("s1")?["reason"] == .string("save_failed"))
        #expect(j.depth == 2)
        #expect(try server.command(["XLEN", RedisSaveJournalScripts.journalKey]).int == 2, "the old stream entry was deleted")
    }

    @Test func twoJournalsOnOneRedisSeeEachOthersEntries() throws {
        let server = try RedisServerProcess()
        let a = try journal(server, instance: "a"), b = try journal(server, instance: "b")
        #expect(a.append(entry("from-a"), now: 1))
        #expect(b.append(entry("from-b"), now: 2))
        #expect(a.entries().map(\.id) == ["from-a", "from-b"] && b.entries().map(\.id) == ["from-a", "from-b"])
        #expect(b.entry("from-a")?["owner"] == .string("a"))
        #expect(b.remove("from-a"))
        #expect(a.entry("from-a") == nil && a.depth == 1)
    }

    @Test func whileRedisIsDownAppendsGoToTheLocalFileAndMoveBackLater() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/redis", withIntermediateDirectories: true)
        // As deployed: appendonly, so what Redis acknowledged survives its restart.
        let server = try RedisServerProcess(extraArgs: ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir + "/redis"])
        let j = try journal(server, dir: dir)
        #expect(j.append(entry("before"), now: 1))
        server.stop()
        #expect(j.append(entry("during", content: "kept"), now: 2), "acknowledged although Redis is down")
        #expect(j.lastError != nil)
        let local = try String(contentsOfFile: dir + "/saves.journal", encoding: .utf8)
        #expect(local.contains("\"during\"") && local.contains("kept"), "fsync'd to the local file")
        #expect(j.entries().map(\.id) == ["during"] && j.entry("during")?["content"] == .string("kept"))
        #expect(j.depth == 1)

        try server.start()
        // Each listing tries the move; the first after the restart may still meet the client's
        // reconnect backoff, so poll until the local entry has moved.
        #expect(await eventually(timeout: 10) { j.entries().map(\.id) == ["before", "during"] && j.fallback.isEmpty },
                "listed from Redis again, the local entry moved into Redis")
        let other = try journal(server, instance: "b")
        #expect(other.entry("during")?["content"] == .string("kept"), "so any replica can replay it")
        #expect(j.remove("during") && j.depth == 1)
    }

    /// AUTH with the password from `password_env` and SELECT of the URL's database; a wrong
    /// password is an unavailable Redis (the local file takes the entry).
    @Test func authenticatesAndSelectsTheDatabase() throws {
        let server = try RedisServerProcess(extraArgs: ["--requirepass", "s3cret"])
        var store = StoreConfig()
        store.kind = .redis
        store.url = server.url + "/3"
        store.passwordEnv = "REDIS_PASSWORD"
        let url = try #require(try store.redisURL(environment: ["REDIS_PASSWORD": "s3cret"]))
        let j = RedisSaveJournal(url: url, directory: temporaryDirectory(), instance: "a")
        #expect(j.append(entry("s1"), now: 1) && j.fallback.isEmpty)
        #expect(try server.command(["HLEN", RedisSaveJournalScripts.indexKey], db: 3, password: "s3cret").int == 1)

        let wrong = try #require(try store.redisURL(environment: ["REDIS_PASSWORD": "nope"]))
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let refused = RedisSaveJournal(url: wrong, directory: dir, instance: "b")
        #expect(refused.append(entry("s2"), now: 2) && refused.fallback.entry("s2") != nil)
        #expect(refused.lastError?.contains("AUTH") == true)
    }

    @Test func claimsAreExclusive() throws {
        let server = try RedisServerProcess()
        let a = try journal(server, instance: "a"), b = try journal(server, instance: "b")
        #expect(a.claim("s1"))
        #expect(!b.claim("s1"), "held by the first claimant")
        #expect(a.claim("s1"), "which may ask again (restarted under the same name)")
        #expect(b.claim("s2"))
        let ttl = try server.command(["PTTL", RedisSaveJournalScripts.claimKey("s1")]).int ?? 0
        #expect(ttl > 290_000 && ttl <= 300_000)
    }

    /// At start: own pending saves and orphaned ones (older than 10 minutes) are resumed, each
    /// claimed first; a young pending save of another live replica is left alone.
    @Test func pendingSavesToResumeFollowOwnerAndClaim() throws {
        let server = try RedisServerProcess()
        let a = try journal(server, instance: "a"), b = try journal(server, instance: "b"), c = try journal(server, instance: "c")
        let now = 10_000.0
        #expect(a.append(entry("a-young", reason: "pending"), now: now - 5))
        #expect(a.append(entry("a-old", reason: "pending"), now: now - 700))
        #expect(a.append(entry("a-failed"), now: now - 700))
        #expect(b.append(entry("b-young", reason: "pending"), now: now - 5))
        #expect(a.pendingToResume(now: now) == ["a-young", "a-old"])
        #expect(b.pendingToResume(now: now) == ["b-young"], "a-old was claimed by a")
        #expect(c.pendingToResume(now: now).isEmpty)
    }

    @Test func pendingRule() {
        func pending(_ owner: String?, _ time: Double) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = [("id", .string("x")), ("reason", .string("pending")), ("time", .number(time))]
            if let owner { members.append(("owner", .string(owner))) }
            return .object(members)
        }
        #expect(PendingSaveRule.mayResume(pending("me", 990), instance: "me", now: 1000))
        #expect(!PendingSaveRule.mayResume(pending("other", 990), instance: "me", now: 1000))
        #expect(PendingSaveRule.mayResume(pending("other", 300), instance: "me", now: 1000))
        #expect(PendingSaveRule.mayResume(pending(nil, 990), instance: "me", now: 1000), "written before owners existed")
        #expect(!PendingSaveRule.mayResume(.object([("id", .string("x")), ("reason", .string("save_failed"))]), instance: "me", now: 1000))
    }

    /// The file journal is read by this process only: every pending entry is its own to resume.
    @Test func fileJournalResumesEveryPendingEntry() {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = FileSaveJournal(directory: dir, instance: "pod-1")
        #expect(old.append(entry("p1", reason: "pending"), now: 1) && old.append(entry("f1"), now: 1))
        let restarted = FileSaveJournal(directory: dir, instance: "pod-2")
        #expect(restarted.pendingToResume(now: 2) == ["p1"] && restarted.claim("p1"))
        #expect(restarted.entry("p1")?["owner"] == .string("pod-1"))
    }
}
