import RampartHTTP
import RampartLoop
import RampartTransport
import Glibc
/// The route a request matched, with the values of its `{param}` segments (raw, not percent-decoded).
public struct RouteHit: Sendable {
    public var index: Int
    public var route: RouteConfig
    public var params: [(name: String, value: String)]

    public init(index: Int, route: RouteConfig, params: [(name: String, value: String)]) {
        self.index = index; self.route = route; self.params = params
    }

    public func param(_ name: String) -> String? { params.first { $0.name == name }?.value }
}

/// Routes in config order; the first whose methods and path match wins (SPEC §3). Comparison is
/// byte-wise on UTF-8 and allocation-free except for captured params, since it runs per request.
/// The path must already be normalised by the caller (no dot segments); a query string is ignored.
public struct RouteTable: Sendable {
    public let routes: [RouteConfig]
    /// Each route's rule as bytes, index for index: matching reads no `RouteConfig` (a copy of
    /// one is a retain per String it holds) and compares paths with `memcmp`.
    private let matchers: [Matcher]

    private struct Matcher: Sendable {
        enum Path: Sendable { case exact([UInt8]), prefix([UInt8]), template }
        let methods: [String]?
        let path: Path
    }

    public init(_ routes: [RouteConfig]) {
        self.routes = routes
        matchers = routes.map { r in
            switch r.match.path {
            case .exact(let p): return Matcher(methods: r.match.methods, path: .exact(Array(p.utf8)))
            case .prefix(let p): return Matcher(methods: r.match.methods, path: .prefix(Array(p.utf8)))
            case .template: return Matcher(methods: r.match.methods, path: .template)
            }
        }
    }

    public func match(method: String, path: String) -> RouteHit? {
        matchIndex(method: method, path: path).map { RouteHit(index: $0.index, route: routes[$0.index], params: $0.params) }
    }

    /// The same, naming the route by its place: no copy of the route's config per request.
    public func matchIndex(method: String, path: String) -> (index: Int, params: [(name: String, value: String)])? {
        HTTPHeaders.withBytes(path) { full in
            // A query string is not part of the path.
            var length = full.count
            if let base = full.baseAddress, let q = memchr(base, Int32(UInt8(ascii: "?")), full.count) { length = base.distance(to: q.assumingMemoryBound(to: UInt8.self)) }
            let bytes = UnsafeBufferPointer(rebasing: full[..<length])
            for index in matchers.indices {
                if let methods = matchers[index].methods, !methods.contains(method) { continue }
                switch matchers[index].path {
                case .exact(let p):
                    if Self.equal(bytes, p, prefix: false) { return (index, []) }
                case .prefix(let p):
                    if Self.equal(bytes, p, prefix: true) { return (index, []) }
                case .template:
                    guard case .template(let segments) = routes[index].match.path else { continue }
                    if let params = Self.matchTemplate(segments, path.utf8[..<(path.utf8.firstIndex(of: UInt8(ascii: "?")) ?? path.utf8.endIndex)]) {
                        return (index, params)
                    }
                }
            }
            return nil
        }
    }

    /// `bytes` equals `rule` (or begins with it, for a prefix rule).
    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ rule: [UInt8], prefix: Bool) -> Bool {
        guard prefix ? bytes.count >= rule.count : bytes.count == rule.count else { return false }
        return rule.withUnsafeBufferPointer { r in r.isEmpty || memcmp(bytes.baseAddress!, r.baseAddress!, r.count) == 0 }
    }

    /// Segment-by-segment comparison; a param takes exactly one non-empty segment.
    private static func matchTemplate(_ segments: [RouteMatch.PathSegment],
                                      _ path: Substring.UTF8View) -> [(name: String, value: String)]? {
        guard path.first == UInt8(ascii: "/") else { return nil }
        var params: [(name: String, value: String)] = []
        var start = path.index(after: path.startIndex)
        for (i, segment) in segments.enumerated() {
            let end = path[start...].firstIndex(of: UInt8(ascii: "/")) ?? path.endIndex
            let piece = path[start..<end]
            switch segment {
            case .literal(let literal):
                if !piece.elementsEqual(literal.utf8) { return nil }
            case .param(let name):
                if piece.isEmpty { return nil }
                params.append((name, String(Substring(piece))))
            }
            let isLast = i == segments.count - 1
            if isLast { return end == path.endIndex ? params : nil }
            if end == path.endIndex { return nil }
            start = path.index(after: end)
        }
        return segments.isEmpty && start == path.endIndex ? params : nil
    }
}
