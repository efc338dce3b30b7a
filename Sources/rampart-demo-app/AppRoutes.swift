import Glibc

/// The ordinary app endpoints, plus the misbehaving ones Rampart exists to tame.
enum AppRoutes {
    /// `GET /` — the little UI (see Page.swift).
    static func page(_ req: Request, _ res: ResponseWriter) {
        res.text(200, Page.html, contentType: "text/html; charset=utf-8")
    }

    /// `PUT /api/chapters/{id}/content` — the save target of Rampart's confirmed saves. Stores the
    /// `content` field (or the raw body if there is none) and records the headers for tests.
    static func putChapter(_ id: String, _ req: Request, _ res: ResponseWriter) {
        let content = req.json?["content"]?.stringValue ?? req.bodyText
        demoState.save(chapterId: id, content: content, headers: req.headers)
        res.json(200, ["saved": true, "chapterId": .string(id), "bytes": .int(content.utf8.count)])
    }

    /// `GET /api/chapters/{id}/content` — what was saved, for `verify` mode and for tests.
    static func getChapter(_ id: String, _ req: Request, _ res: ResponseWriter) {
        guard let content = demoState.content(chapterId: id) else {
            return res.json(404, ["error": ["type": "not_found", "message": .string("No content saved for \(id)")]])
        }
        res.json(200, ["chapterId": .string(id), "content": .string(content), "bytes": .int(content.utf8.count)])
    }

    /// `GET /slow?ms=N` — waits before the headers, for first-byte timeouts.
    static func slow(_ req: Request, _ res: ResponseWriter) {
        let ms = req.queryInt("ms", default: 5000, in: 0...3_600_000)
        res.pause(ms: ms)
        res.json(200, ["slept_ms": .int(ms)])
    }

    /// `GET /boom` — the kind of 500 a careless app leaks: a stack trace and framework headers.
    static func boom(_ req: Request, _ res: ResponseWriter) {
        let trace = """
            Error: connect ECONNREFUSED 10.0.0.5:5432
                at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)
                at /app/src/lib/db.ts:42:13
                at Pool.connect (/app/node_modules/pg-pool/index.js:45:11)
                at async getChapter (/app/src/routes/chapters.ts:17:18)
                at async /app/src/server.ts:88:5

            """
        res.text(500, trace, headers: [("X-Powered-By", "Express"), ("Server", "demo")])
    }

    /// One 64 KiB block of a 64-byte repeating line, so every write starts at the pattern's start.
    private static let bigBlock: [UInt8] = {
        let line = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-".utf8.prefix(63)) + [0x0A]
        return Array((0..<1024).map { _ in line }.joined())
    }()

    /// `GET /big?bytes=N[&chunked=1]` — a large body written in 64 KiB blocking writes, so a slow
    /// reader pushes back through the proxy instead of piling up in memory.
    static func big(_ req: Request, _ res: ResponseWriter) {
        let maxBytes = 1 << 30
        var total = 1 << 20
        if let raw = req.query["bytes"] {
            guard let n = Int(raw), n >= 0, n <= maxBytes else {
                return res.json(400, ["error": ["type": "bad_request", "message": "bytes must be 0...1073741824"]])
            }
            total = n
        }
        let chunked = req.query["chunked"].map { $0 != "0" && $0 != "false" } ?? false
        let headers = [("Content-Type", "application/octet-stream")]
        let started = chunked ? res.startChunked(200, headers: headers) : res.startFixed(200, headers: headers, length: total)
        guard started else { return }
        var sent = 0
        bigBlock.withUnsafeBytes { block in
            while sent < total {
                let n = min(block.count, total - sent)
                let isLast = sent + n == total
                // A fixed-length write says "stop" once all promised bytes are out; earlier it means the client left.
                guard res.write(UnsafeRawBufferPointer(rebasing: block[0..<n])) || isLast else { return }
                sent += n
            }
        }
    }

    /// `ANY /echo[/…]` — the request as the app saw it: target, headers in order with names as
    /// received, and the body. For tests of header forwarding and body streaming.
    static func echo(_ req: Request, _ res: ResponseWriter) {
        res.json(200, [
            "method": .string(req.method),
            "target": .string(req.target),
            "version": .string(req.version),
            "headers": .array(req.headers.map { [.string($0.name), .string($0.value)] }),
            "body": .string(req.bodyText),
            "body_bytes": .int(req.body.count),
        ])
    }
}
