// HTTPHeaders as a list of `HTTPField` values (Strings), for code off the hot path: config,
// admin, tests. The proxy path reads the bytes (`withFieldBytes`) instead.

extension HTTPHeaders {
    /// The fields as values; setting it replaces them all.
    public var fields: [HTTPField] {
        get { (0..<count).map { field(at: $0) } }
        set { self = HTTPHeaders(newValue) }
    }

    /// Names of other fields the Connection header(s) list as hop-by-hop (RFC 9110 §7.6.1),
    /// lowercased, split by the parser's own token splitter. `close` and `keep-alive` are left
    /// out: they name no field a proxy must drop beyond the hop-by-hop set, and they are what
    /// almost every response sends.
    public func connectionFieldNames() -> [String] {
        withFieldBytes { f in
            var names: [String] = []
            for i in 0..<f.count where f.knownName(i) == .connection {
                let v = f.value(i)
                if ASCIIBytes.equalsLowercase(v, "keep-alive") || ASCIIBytes.equalsLowercase(v, "close") { continue }
                _ = HeaderFieldsParser.appendTokens(UnsafeRawBufferPointer(v), 0..<v.count, &names)
            }
            if !names.isEmpty { names.removeAll { $0 == "close" || $0 == "keep-alive" } }
            return names
        }
    }
}

extension HTTPHeaders: Sequence {
    /// Fields in order, each made as an `HTTPField` when reached.
    public struct Iterator: IteratorProtocol {
        let headers: HTTPHeaders
        var position = 0

        public mutating func next() -> HTTPField? {
            guard position < headers.count else { return nil }
            defer { position += 1 }
            return headers.field(at: position)
        }
    }

    public func makeIterator() -> Iterator { Iterator(headers: self) }
    public var underestimatedCount: Int { count }
}

extension HTTPHeaders: Equatable {
    /// Equal when the same names and values come in the same order (bytes, case kept).
    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        guard a.count == b.count else { return false }
        return a.withFieldBytes { x in
            b.withFieldBytes { y in
                (0..<x.count).allSatisfy { x.name($0).elementsEqual(y.name($0)) && x.value($0).elementsEqual(y.value($0)) }
            }
        }
    }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    /// Literal order is kept, which makes tests and fixed responses readable.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements.map { HTTPField(name: $0.0, value: $0.1) })
    }
}

/// Comparisons of header bytes, ASCII case folded (header names are tokens; Unicode case
/// folding would be wrong here).
public enum ASCIIBytes {
    @inlinable @inline(__always)
    public static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    /// `bytes` (any case) against a lowercase literal.
    @inlinable
    public static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount && hasPrefixLowercase(bytes, lowercase)
    }

    /// `bytes` begins with a lowercase literal, ignoring case.
    @inlinable
    public static func hasPrefixLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        let n = lowercase.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        return n == 0 || equalsLowercase(bytes.baseAddress!, lowercase.utf8Start, count: n)
    }

    /// `count` bytes at `p` (any case) against as many lowercase bytes at `lower`, 8 (or 4) at a
    /// time: a name compare costs a few word operations instead of a loop step per byte.
    @inlinable @inline(__always)
    public static func equalsLowercase(_ p: UnsafePointer<UInt8>, _ lower: UnsafePointer<UInt8>, count n: Int) -> Bool {
        let a = UnsafeRawPointer(p), b = UnsafeRawPointer(lower)
        if n >= 8 {
            var i = 0
            while i &+ 8 <= n {
                if !equalsLowercase8(a + i, b + i) { return false }
                i &+= 8
            }
            return i == n || equalsLowercase8(a + (n &- 8), b + (n &- 8))   // the tail, overlapping
        }
        if n >= 4 { return equalsLowercase4(a, b) && equalsLowercase4(a + (n &- 4), b + (n &- 4)) }
        var i = 0
        while i < n {
            if Self.lower(p[i]) != lower[i] { return false }
            i &+= 1
        }
        return true
    }

    /// 0x20 in each byte of `w` that is a lowercase ASCII letter, 0 in the others: OR-ed into the
    /// compared bytes, it folds exactly the letters' case (no carry crosses a byte).
    @inlinable @inline(__always)
    static func letterBits(_ w: UInt64) -> UInt64 {
        let low = w & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastA = low &+ 0x1F1F_1F1F_1F1F_1F1F      // high bit: byte >= 0x61
        let pastZ = low &+ 0x0505_0505_0505_0505         // high bit: byte >= 0x7B
        return (atLeastA & ~pastZ & ~w & 0x8080_8080_8080_8080) >> 2
    }

    @inlinable @inline(__always)
    static func equalsLowercase8(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        let l = b.loadUnaligned(as: UInt64.self)
        return a.loadUnaligned(as: UInt64.self) | letterBits(l) == l
    }

    @inlinable @inline(__always)
    static func equalsLowercase4(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        let l = UInt64(b.loadUnaligned(as: UInt32.self))
        return UInt64(a.loadUnaligned(as: UInt32.self)) | letterBits(l) == l
    }

    /// `string` begins with `literal`, byte for byte (a path prefix: case matters).
    @inlinable
    public static func hasPrefix(_ string: String, _ literal: StaticString) -> Bool {
        HTTPHeaders.withBytes(string) { b in
            guard b.count >= literal.utf8CodeUnitCount else { return false }
            let lit = literal.utf8Start
            var i = 0
            while i < literal.utf8CodeUnitCount {
                if b[i] != lit[i] { return false }
                i &+= 1
            }
            return true
        }
    }

    /// Two byte strings equal ignoring ASCII case.
    @inlinable
    public static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i < a.count {
            let x = a[i], y = b[i]
            if x != y && lower(x) != lower(y) { return false }
            i &+= 1
        }
        return true
    }

    /// `bytes` (any case) against bytes already lowercased.
    @inlinable
    public static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: [UInt8]) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        return lowercased.withUnsafeBufferPointer { l in
            l.isEmpty || equalsLowercase(bytes.baseAddress!, l.baseAddress!, count: l.count)
        }
    }
}
