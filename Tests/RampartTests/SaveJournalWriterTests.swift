import Foundation
import RampartHTTP
import RampartLoop
@testable import Rampart
import RampartProxy
import Testing

/// The journal's writer thread (issue 23 point 3): calls answer on the caller's loop, in the order
/// they were made, and appends that arrive while a commit is in progress go together in the next.
@Suite struct SaveJournalWriterTests {
    /// The file journal, with a gate that holds its first append until the test opens it, so the
    /// test knows which appends arrive during a commit.
    final class GatedJournal: SaveJournal, @unchecked Sendable {
        let file: FileSaveJournal
        let gate = DispatchSemaphore(value: 0)
        let batches = Lock<[Int]>([])
        init(_ file: FileSaveJournal) { self.file = file }
        var instance: String { file.instance }
        func append(_ e: SaveJournalEntry, now: Double) -> Bool { append([(e, now)])[0] }
        func append(_ batch: [(SaveJournalEntry, Double)]) -> [Bool] {
            let first = batches.withLock { b -> Bool in b.append(batch.count); return b.count == 1 }
            if first { gate.wait() }
            return file.append(batch)
        }
        func entries() -> [(id: String, json: JSONValue)] { file.entries() }
        func entry(_ id: String) -> JSONValue? { file.entry(id) }
        func remove(_ id: String) -> Bool { file.remove(id) }
        var depth: Int { file.depth }
        func lines() -> [String] { file.lines() }
        func claim(_ id: String) -> Bool { true }
        func pendingToResume(now: Double) -> [String] { [] }
        var lastError: String? { file.lastError }
    }

    static func entry(_ id: String) -> SaveJournalEntry {
        SaveJournalEntry(id: id, identity: "user:u1", user: "u1", route: "chat", reason: "save_failed", method: "PUT",
                         url: "/api/chapters/\(id)/content", body: "{}", content: "text of \(id)")
    }

    @Test func appendsDuringACommitAreCommittedTogetherAndAnswerOnTheirLoop() async throws {
        let dir = NSTemporaryDirectory() + "rampart-writer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gated = GatedJournal(FileSaveJournal(directory: dir, instance: "t"))
        let writer = SaveJournalWriter(gated)
        defer { writer.stop() }
        let t = TestLoopThread()
        let answers = Lock<[String]>([])
        let append = { (range: Range<Int>) in
            await t.sync {
                for i in range {
                    writer.append(Self.entry("s\(i)"), now: 1000, on: t.loop) { ok in
                        t.loop.assertInLoop("the answer comes back on the caller's loop")
                        answers.withLock { $0.append(ok ? "s\(i)" : "failed s\(i)") }
                    }
                }
            }
        }
        await append(0..<1)
        // The first append is being committed (held at the gate); the other 49 queue behind it.
        #expect(await eventually { gated.batches.withLock { $0 } == [1] })
        await append(1..<50)
        #expect(answers.withLock { $0.isEmpty }, "nobody hears before their entry is stored")
        gated.gate.signal()
        #expect(await eventually { answers.withLock { $0.count } == 50 })
        #expect(answers.withLock { $0 } == (0..<50).map { "s\($0)" }, "every append stored, answered in order")
        #expect(gated.batches.withLock { $0 } == [1, 49], "one commit (one write, one fsync) for the 49 that waited")
        #expect(writer.commits == 2)
        #expect(gated.file.lines().count == 50)
        #expect(await eventually { writer.depth == 50 }, "the depth readiness and metrics read, without touching the disk")
    }

    @Test func callsRunInTheOrderTheyWereMade() async throws {
        let dir = NSTemporaryDirectory() + "rampart-writer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = SaveJournalWriter(FileSaveJournal(directory: dir, instance: "t"))
        defer { writer.stop() }
        let t = TestLoopThread()
        let seen: [String]? = await t.call { done in
            var log: [String] = []
            writer.append(Self.entry("a"), now: 1, on: t.loop) { log.append("append a \($0)") }
            writer.remove("a", on: t.loop) { log.append("remove a \($0)") }
            writer.entry("a", on: t.loop) { log.append("entry a \($0 == nil ? "gone" : "there")") }
            writer.append(Self.entry("b"), now: 2, on: t.loop) { log.append("append b \($0)") }
            writer.entries(on: t.loop) { all in
                log.append("entries \(all.map(\.id))")
                done(log)
            }
        }
        #expect(seen == ["append a true", "remove a true", "entry a gone", "append b true", "entries [\"b\"]"])
    }
}
