/// A request's id (SPEC §4): the client's `X-Request-Id` when it sent a sane one, else one Rampart
/// made. A made id is 26 ASCII bytes kept inline, so giving a request its id allocates nothing;
/// it becomes a `String` only where one is needed (error bodies, logs, save templates).
public struct RequestID: Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    @usableFromInline enum Storage: Sendable {
        /// Rampart's own: `madeCount` bytes in four words, the rest zero.
        case made(UInt64, UInt64, UInt64, UInt64)
        /// The client's (checked by `isSane`), or a text Rampart already had.
        case text(String)
    }
    @usableFromInline let storage: Storage

    /// The length of a made id (a ULID).
    public static let madeCount = 26

    /// An id Rampart makes: `fill` writes its `madeCount` bytes, each a safe character.
    @inlinable
    public init(made fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { fill($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        storage = .made(words.0, words.1, words.2, words.3)
    }

    /// The client's id, when it is sane (else nil: Rampart makes one).
    public init?(sent value: String) {
        guard Self.isSane(value) else { return nil }
        storage = .text(value)
    }

    /// An id already checked or made (the request's own id, handed on as text). Its bytes go into
    /// heads as they are, so the text must be sane (`isSane`).
    package init(_ text: String) { storage = .text(text) }
    public init(stringLiteral value: String) { storage = .text(value) }

    /// Lends the id's bytes.
    @inlinable
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch storage {
        case .made(let a, let b, let c, let d):
            var words = (a, b, c, d)
            return withUnsafeBytes(of: &words) { raw in
                body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: Self.madeCount))
            }
        case .text(let s):
            return HTTPHeaders.withBytes(s, body)
        }
    }

    public var utf8Count: Int {
        switch storage {
        case .made: return Self.madeCount
        case .text(let s): return s.utf8.count
        }
    }

    public var description: String {
        switch storage {
        case .made: return withUTF8 { String(decoding: $0, as: UTF8.self) }
        case .text(let s): return s
        }
    }

    /// 1...128 characters of [A-Za-z0-9._:-] only: such an id goes into logs and headers unescaped.
    public static func isSane(_ s: String) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= 128 else { return false }
        return u.allSatisfy { b in
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x3A, 0x2D: return true
            default: return false
            }
        }
    }
}
