import RampartHTTP
import RampartLoop
import RampartTransport
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

    public init(_ routes: [RouteConfig]) { self.routes = routes }

    public func match(method: String, path: String) -> RouteHit? {
        matchIndex(method: method, path: path).map { RouteHit(index: $0.index, route: routes[$0.index], params: $0.params) }
    }

    /// The same, naming the route by its place: no copy of the route's config per request.
    public func matchIndex(method: String, path: String) -> (index: Int, params: [(name: String, value: String)])? {
        let full = path.utf8
        let pathBytes = full[..<(full.firstIndex(of: UInt8(ascii: "?")) ?? full.endIndex)]
        for index in routes.indices {
            if let methods = routes[index].match.methods, !methods.contains(method) { continue }
            switch routes[index].match.path {
            case .exact(let p):
                if pathBytes.elementsEqual(p.utf8) { return (index, []) }
            case .prefix(let p):
                if pathBytes.starts(with: p.utf8) { return (index, []) }
            case .template(let segments):
                if let params = Self.matchTemplate(segments, pathBytes) { return (index, params) }
            }
        }
        return nil
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
