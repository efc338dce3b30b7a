import RampartHTTP
import RampartLoop
import RampartTransport

/// CORS (SPEC §6.2): allow-listed origins get the CORS headers, preflights are answered here and
/// never reach the app, any other cross-origin request is refused with 403. Same-origin requests
/// (Origin matching Host) pass untouched.
struct CORSPolicy: RouteFilter {
    var phases: FilterPhases { .requestHead }

    package let cors: CORSConfig

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        ctx.responseHeaders.add(literal: "Vary", literal: "Origin")
        // A WebSocket handshake's origin is `WebSocketOrigin`'s to judge (its own allow-list).
        guard let origin = ctx.head.headers["Origin"], !ctx.isWebSocket else { done(.proceed); return }
        let preflight = ctx.head.method == "OPTIONS" && ctx.head.headers.contains("Access-Control-Request-Method")
        if !preflight, Self.isSameOrigin(origin, host: ctx.head.headers["Host"]) { done(.proceed); return }
        let wildcard = cors.allowOrigins.contains("*")
        guard wildcard || cors.allowOrigins.contains(origin) else {
            done(.reject(GatewayError(status: 403, code: "FORBIDDEN", message: "The origin \(origin) is not allowed.")))
            return
        }
        var fields: [HTTPField] = [HTTPField(name: "Access-Control-Allow-Origin", value: wildcard && !cors.allowCredentials ? "*" : origin)]
        if cors.allowCredentials { fields.append(HTTPField(name: "Access-Control-Allow-Credentials", value: "true")) }
        if preflight {
            let method = ctx.head.headers["Access-Control-Request-Method"] ?? ""
            guard cors.allowMethods.contains(method) || ["GET", "HEAD", "POST"].contains(method) else {
                done(.reject(GatewayError(status: 403, code: "FORBIDDEN", message: "The method \(method) is not allowed for cross-origin requests.")))
                return
            }
            fields.append(HTTPField(name: "Access-Control-Allow-Methods", value: cors.allowMethods.joined(separator: ", ")))
            fields.append(HTTPField(name: "Access-Control-Allow-Headers", value: cors.allowHeaders.joined(separator: ", ")))
            fields.append(HTTPField(name: "Access-Control-Max-Age", value: String(cors.maxAge.components.seconds)))
            fields.append(HTTPField(name: "Vary", value: "Access-Control-Request-Method, Access-Control-Request-Headers"))
            ctx.responseHeaders.append(contentsOf: HTTPHeaders(fields))
            done(.answer(status: 204, headers: []))
            return
        }
        if !cors.exposeHeaders.isEmpty {
            fields.append(HTTPField(name: "Access-Control-Expose-Headers", value: cors.exposeHeaders.joined(separator: ", ")))
        }
        ctx.responseHeaders.append(contentsOf: HTTPHeaders(fields))
        done(.proceed)
    }

    /// `http://host:port` against the Host header (default ports elided either way).
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host else { return false }
        for scheme in ["http://", "https://"] where origin.hasPrefix(scheme) {
            var authority = String(origin.dropFirst(scheme.count))
            if scheme == "http://" && authority.hasSuffix(":80") { authority.removeLast(3) }
            if scheme == "https://" && authority.hasSuffix(":443") { authority.removeLast(4) }
            var h = host
            if h.hasSuffix(":80") || h.hasSuffix(":443") { h = String(h[..<h.lastIndex(of: ":")!]) }
            return authority.lowercased() == h.lowercased()
        }
        return false
    }
}
