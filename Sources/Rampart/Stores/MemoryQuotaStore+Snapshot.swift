import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Glibc

/// Saving and loading `directory/quotas.snapshot` (format: `QuotaSnapshot`).
extension MemoryQuotaStore {
    static let snapshotName = "quotas.snapshot"

    var snapshotPath: String? { directory.map { $0 + "/" + Self.snapshotName } }

    /// Writes every live log, replacing the previous snapshot atomically (temp file, fsync, rename,
    /// fsync of the directory): a crash mid-write leaves the old snapshot, never a torn one. Each shard is
    /// swept and encoded under its own lock, so traffic on other shards never waits for the disk.
    /// Without a directory it only sweeps, so the periodic persist call still frees idle shards.
    public func persist() throws {
        guard let directory, let path = snapshotPath else { return sweep() }
        try persistLock.withLock { _ throws(QuotaSnapshotError) in
            try makeDirectories(directory)
            let temp = path + ".tmp"
            let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .io(operation: "open", path: temp, errno: errno) }
            var closed = false
            defer { if !closed { close(fd); unlink(temp) } }

            try write(fd, QuotaSnapshot.header(), path: temp)
            let nowMs = QuotaSlidingWindow.milliseconds(clock.now())
            var records = 0
            for shard in shards {
                let bytes = shard.state.withLock { state in
                    state.sweep(nowMs: nowMs)
                    var out: [UInt8] = []
                    for (key, log) in state.map {
                        var live = log   // shares the ring; pruning only moves the head
                        live.prune(nowMs: nowMs, windowMs: log.windowMs)
                        if !live.isEmpty { QuotaSnapshot.append(key, live, to: &out); records += 1 }
                    }
                    return out
                }
                try write(fd, bytes, path: temp)
            }
            try write(fd, QuotaSnapshot.trailer(records: records), path: temp)
            guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: temp, errno: errno) }
            closed = true
            guard close(fd) == 0 else { unlink(temp); throw .io(operation: "close", path: temp, errno: errno) }
            guard rename(temp, path) == 0 else { unlink(temp); throw .io(operation: "rename", path: path, errno: errno) }
            syncDirectory(directory)
        }
    }

    /// Loads the snapshot, if any, dropping hits that expired meanwhile, and merges it into the logs
    /// (call it before serving; a merge keeps both sides' hits, so a late call never loses any).
    /// A corrupt file throws and loads nothing.
    public func restore() throws {
        guard let path = snapshotPath else { return }
        guard let bytes = try readFile(path) else { return }   // first start
        let records = try QuotaSnapshot.decode(bytes)
        let nowMs = QuotaSlidingWindow.milliseconds(clock.now())
        var routes: [String: String] = [:]   // one copy of each route name, not one per key
        var byShard = [[(QuotaKey, QuotaLog)]](repeating: [], count: shards.count)
        for record in records {
            let live = record.stamps.indices.filter { nowMs - record.stamps[$0] < record.windowMs }
            guard !live.isEmpty else { continue }
            var key = record.key
            if let known = routes[key.route] { key.route = known } else { routes[key.route] = key.route }
            let amounts = record.amounts.map { a in live.map { $0 < a.count ? a[$0] : 1 } }
            byShard[shardIndex(hash: key.identityHash)].append((key, QuotaLog(windowMs: record.windowMs, stamps: live.map { record.stamps[$0] },
                                                                    amounts: amounts)))
        }
        for (index, logs) in byShard.enumerated() where !logs.isEmpty {
            shards[index].state.withLock { state in
                for (key, log) in logs {
                    let held = state.take(key)
                    state.put(key, held.isEmpty ? log : Self.merged(held, log))
                }
                state.maintain(nowMs: nowMs)
            }
        }
    }

    /// Both logs' entries in time order (with their tokens when either is a token log).
    static func merged(_ a: QuotaLog, _ b: QuotaLog) -> QuotaLog {
        var entries: [(stamp: Int64, tokens: Int)] = []
        for log in [a, b] { for i in 0..<log.count { entries.append((log.stamp(i), log.amount(i))) } }
        entries.sort { $0.stamp < $1.stamp }
        let weighted = a.weights != nil || b.weights != nil
        return QuotaLog(windowMs: b.windowMs, stamps: entries.map { $0.stamp }, amounts: weighted ? entries.map { $0.tokens } : nil)
    }

    /// The whole file, or nil when there is none.
    private func readFile(_ path: String) throws(QuotaSnapshotError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return nil }
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .io(operation: "read", path: path, errno: errno) }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
        }
    }

    /// `mkdir -p`, so a fresh install needs no setup step for `store.dir`.
    private func makeDirectories(_ path: String) throws(QuotaSnapshotError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            guard mkdir(current, 0o755) == 0 || errno == EEXIST else {
                throw .io(operation: "mkdir", path: current, errno: errno)
            }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(QuotaSnapshotError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "write", path: path, errno: errno) }
            done += n
        }
    }

    /// Makes the rename itself durable; best effort (some filesystems refuse fsync on directories).
    private func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
