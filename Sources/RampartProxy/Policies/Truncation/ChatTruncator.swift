import RampartHTTP
import RampartLoop
import RampartTransport
/// The body after truncation, and the figures for `X-Rampart-Truncated: dropped=N; tokens=A->B`.
public struct TruncationResult: Sendable {
    /// The bytes to forward: the original body, untouched, when nothing was dropped.
    public var body: [UInt8]
    /// Messages removed from the array.
    public var dropped: Int
    public var tokensBefore: Int
    public var tokensAfter: Int
}

/// Why a body could not be truncated: the first two map to 400, `contextTooLarge` to 413 `CONTEXT_TOO_LARGE`.
public enum TruncationError: Error, Sendable, Equatable {
    case notJSON(String)
    case messagesNotArray(String)
    case contextTooLarge(tokens: Int, budget: Int)
    case tooDeep
}

/// Token-budget truncation of chat payloads (SPEC §8.1).
///
/// Chat front ends resend the whole conversation on every call; this keeps the system prompt and the
/// newest messages that fit `budget_tokens`. It works on bytes: one validating scan records where each
/// message lies and roughly how many tokens it costs, and the output splices the kept messages between
/// the untouched bytes before and after the array, so numbers, escapes, whitespace and key order
/// elsewhere reach the upstream exactly as the client wrote them.
public struct ChatTruncator: Sendable {
    package let config: TruncateConfig
    /// Decoded pointer tokens leading to the messages array; nil for a pointer that is not RFC 6901.
    package let path: [[UInt8]]?
    /// Anthropic keeps the prompt in top-level `system`; OpenAI-like formats keep it in the array.
    package let anthropic: Bool

    public init(_ config: TruncateConfig) {
        self.config = config
        switch config.format {
        case .anthropic: path = [Array("messages".utf8)]; anthropic = true
        case .openai: path = [Array("messages".utf8)]; anthropic = false
        case .pointer(let p): path = Self.tokens(p); anthropic = false
        }
    }

    package var pointer: String {
        if case .pointer(let p) = config.format { return p }
        return "/messages"
    }

    public func truncate(_ body: [UInt8]) -> Result<TruncationResult, TruncationError> {
        guard let path else { return .failure(.messagesNotArray("\(pointer) is not a JSON pointer")) }
        let scanned: Result<TruncationDocument, TruncationError> = body.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return .failure(.notJSON("empty body")) }
            var scanner = TruncationScanner(base, count: buffer.count)
            var doc = TruncationDocument()
            do throws(TruncationError) {
                try scanner.locate(path, level: 0, depth: 1, system: anthropic, into: &doc)
                scanner.skipWhitespace()
                guard scanner.i == scanner.count else { throw scanner.fail("unexpected data after the document") }
            } catch {
                return .failure(error)
            }
            return .success(doc)
        }
        switch scanned {
        case .failure(let e): return .failure(e)
        case .success(let doc): return truncate(body, doc)
        }
    }

    private func truncate(_ body: [UInt8], _ doc: TruncationDocument) -> Result<TruncationResult, TruncationError> {
        switch doc.found {
        case .missing: return .failure(.messagesNotArray("\(pointer) is missing"))
        case .notArray: return .failure(.messagesNotArray("\(pointer) is not an array"))
        case .array: break
        }
        let anthropic = self.anthropic
        let perToken = config.charsPerToken > 0 ? config.charsPerToken : 4
        let imageTokens = config.imageTokens
        let plan = TruncationPlan(
            pinned: { !anthropic && ($0.role == .system || $0.role == .developer) },
            tokens: { Int((Double($0.chars) / perToken).rounded(.up)) + $0.media * imageTokens },
            budget: config.budgetTokens)
        switch plan(doc.messages, system: plan.tokens(doc.system)) {
        case .failure(let e):
            return .failure(e)
        case .success(let o) where o.dropped == 0:
            return .success(TruncationResult(body: body, dropped: 0, tokensBefore: o.before, tokensAfter: o.after))
        case .success(let o):
            let out = splice(body, doc, keep: { k in k >= o.firstKept || plan.pinned(doc.messages[k]) })
            return .success(TruncationResult(body: out, dropped: o.dropped, tokensBefore: o.before, tokensAfter: o.after))
        }
    }

    /// Bytes up to the first element, the kept elements, then everything from the end of the last.
    /// Kept elements are joined by the separator the client used between its first two, so a
    /// pretty-printed body stays pretty and only the dropped messages change.
    private func splice(_ body: [UInt8], _ doc: TruncationDocument, keep: (Int) -> Bool) -> [UInt8] {
        let all = doc.messages
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        // Only called when something is dropped and something kept, so there are two elements at least.
        body.withUnsafeBufferPointer { b in
            let separator = UnsafeBufferPointer(rebasing: b[all[0].end..<all[1].start])
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[..<all[0].start]))
            var first = true
            for k in all.indices where keep(k) {
                if !first { out.append(contentsOf: separator) }
                first = false
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[all[k].start..<all[k].end]))
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[all[all.count - 1].end...]))
        }
        return out
    }

    /// RFC 6901: "" is the whole document, otherwise "/"-separated tokens with ~1 for "/" and ~0 for "~".
    package static func tokens(_ pointer: String) -> [[UInt8]]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            Array($0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~").utf8)
        }
    }
}
