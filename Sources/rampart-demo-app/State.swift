import Foundation

/// Everything the demo app remembers, shared by all connection threads behind one lock.
///
/// Why it exists: integration tests drive Rampart and then look behind it — how many requests
/// reached the app, what a save carried (Idempotency-Key, Authorization), what was stored — and
/// they inject failures (`/_demo/faults`) and pace streams (`/_demo/step`) from outside.
final class DemoState: @unchecked Sendable {
    /// An injected failure: the next `remaining` matching requests answer `status` (-1 = forever).
    struct Fault {
        var pathPrefix: String
        var method: String?
        var remaining: Int
        var status: Int
        var retryAfter: Int?

        var json: JSON {
            var members: [(String, JSON)] = [
                ("path_prefix", .string(pathPrefix)), ("times", .int(remaining)), ("status", .int(status)),
            ]
            if let method { members.append(("method", .string(method))) }
            if let retryAfter { members.append(("retry_after", .int(retryAfter))) }
            return .object(members)
        }
    }

    /// Guards every field below; also the condition stepped SSE streams wait on.
    private let condition = NSCondition()
    private var requests = 0
    private var byPath: [String: Int] = [:]
    private var faults: [Fault] = []
    private var saves: [String: String] = [:]
    private var lastSaveHeaders: [(String, String)] = []
    private var steps: [String: Int] = [:]

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    // MARK: Stats and faults

    func countRequest(path: String) {
        locked {
            requests += 1
            byPath[path, default: 0] += 1
        }
    }

    /// Consumes one use of the first fault matching this request, if any.
    func takeFault(path: String, method: String) -> Fault? {
        locked {
            guard let i = faults.firstIndex(where: {
                path.hasPrefix($0.pathPrefix) && ($0.method == nil || $0.method == method) && $0.remaining != 0
            }) else { return nil }
            let fault = faults[i]
            if fault.remaining > 0 {
                faults[i].remaining -= 1
                if faults[i].remaining == 0 { faults.remove(at: i) }
            }
            return fault
        }
    }

    func addFault(_ fault: Fault) { locked { faults.append(fault) } }

    func clearFaults() { locked { faults.removeAll() } }

    var faultsJSON: JSON { locked { .array(faults.map(\.json)) } }

    func stats() -> JSON {
        locked {
            let paths = byPath.keys.sorted().map { ($0, JSON.int(byPath[$0]!)) }
            let savedChapters = saves.keys.sorted().map { ($0, JSON.string(saves[$0]!)) }
            return [
                "requests": .int(requests),
                "by_path": .object(paths),
                "last_save_headers": .object(lastSaveHeaders.map { ($0.0, .string($0.1)) }),
                "saves": .object(savedChapters),
                "faults": .array(faults.map(\.json)),
            ]
        }
    }

    /// Clears stats, faults, saves and pending steps.
    func reset() {
        locked {
            requests = 0
            byPath.removeAll()
            faults.removeAll()
            saves.removeAll()
            lastSaveHeaders.removeAll()
            steps.removeAll()
        }
    }

    // MARK: Chapter saves

    /// Stores a chapter and the headers of the request that saved it (names lowercased, repeats joined).
    func save(chapterId: String, content: String, headers: [(name: String, value: String)]) {
        var merged: [(String, String)] = []
        for (name, value) in headers {
            let key = name.lowercased()
            if let i = merged.firstIndex(where: { $0.0 == key }) {
                merged[i].1 += ", " + value
            } else {
                merged.append((key, value))
            }
        }
        locked {
            saves[chapterId] = content
            lastSaveHeaders = merged
        }
    }

    func content(chapterId: String) -> String? { locked { saves[chapterId] } }

    // MARK: Stepped streams

    /// Lets the stepped stream `id` send its next event (remembered if the stream has not started).
    func step(id: String) -> Int {
        locked {
            steps[id, default: 0] += 1
            condition.broadcast()
            return steps[id]!
        }
    }

    /// Blocks until a step for `id` arrives (consuming it) or the deadline passes.
    func waitForStep(id: String, until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while steps[id, default: 0] == 0 {
            if !condition.wait(until: deadline) && steps[id, default: 0] == 0 { return false }
        }
        steps[id]! -= 1
        return true
    }

    /// Forgets leftover steps when a stepped stream ends, so the id can be reused.
    func endStepped(id: String) { locked { steps[id] = nil } }
}

/// The single instance. A global `let` is initialised once, thread-safely.
let demoState = DemoState()
