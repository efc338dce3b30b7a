import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The headers section (SPEC §6.1–6.2), globally and per route.
extension ConfigDecoder {
    /// Decodes over `base`. For a route (`mergeSet: true`) the global section is the base: keys the
    /// route leaves out are inherited and its `set` entries replace same-named global ones, so a
    /// route can loosen one header without restating the whole CSP.
    func decodeHeaders(_ field: Field?, base: HeadersConfig, mergeSet: Bool) -> HeadersConfig {
        var headers = base
        guard let field, let r = field.object(keys: ["set", "mode", "remove", "csp_report_only", "cors"]) else { return headers }
        if let f = r["set"], let members = f.members {
            var set: [(name: String, value: String)] = mergeSet ? base.set : []
            var seen: [String: String] = [:]   // lower-cased name -> spelling first used in this section
            for (name, vf) in members {
                guard isHTTPToken(name) else { vf.fail("not a valid header name"); continue }
                if let first = seen[name.lowercased()] {
                    vf.fail("header \(first) is already set (header names are case-insensitive)")
                    continue
                }
                seen[name.lowercased()] = name
                guard let value = vf.string else { continue }
                guard isHeaderValue(value) else { vf.fail("header values may not contain control characters or line breaks"); continue }
                set.removeAll { $0.name.lowercased() == name.lowercased() }
                set.append((name, value))
            }
            headers.set = set
        }
        if let v = r["mode"]?.oneOf(HeadersConfig.Mode.self) { headers.mode = v }
        if let items = r["remove"]?.elements {
            headers.remove = items.compactMap { item in
                guard let s = item.string else { return nil }
                if isHTTPToken(s) { return s }
                item.fail("\(item.value.jsonText()) is not a header name")
                return nil
            }
        }
        if let v = r["csp_report_only"]?.bool { headers.cspReportOnly = v }
        if let f = r["cors"] { headers.cors = decodeCORS(f) }
        return headers
    }

    private func decodeCORS(_ field: Field) -> CORSConfig? {
        guard let r = field.object(keys: ["allow_origins", "allow_credentials", "allow_methods", "allow_headers",
                                          "expose_headers", "max_age"]) else { return nil }
        var cors = CORSConfig(allowOrigins: [])
        if let f = r.required("allow_origins"), let items = f.elements {
            if items.isEmpty { f.fail("must list at least one origin") }
            cors.allowOrigins = items.compactMap { item in
                guard let s = item.string else { return nil }
                if s == "*" || isOrigin(s) { return s }
                item.fail("\(item.value.jsonText()) is not an origin; use scheme://host[:port] without a path, or \"*\"")
                return nil
            }
        }
        if let v = r["allow_credentials"]?.bool { cors.allowCredentials = v }
        if let f = r["allow_methods"] { cors.allowMethods = decodeMethods(f) ?? cors.allowMethods }
        if let v = headerNames(r["allow_headers"]) { cors.allowHeaders = v }
        if let v = headerNames(r["expose_headers"]) { cors.exposeHeaders = v }
        if let v = r["max_age"]?.duration(allowZero: true) { cors.maxAge = v }
        if cors.allowCredentials && cors.allowOrigins.contains("*") {
            diag.error(ConfigPath.key(field.path, "allow_origins"),
                       "\"*\" cannot be combined with allow_credentials: true (browsers reject it); list the origins")
        }
        return cors
    }

    private func headerNames(_ field: Field?) -> [String]? {
        guard let items = field?.elements else { return nil }
        return items.compactMap { item in
            guard let s = item.string else { return nil }
            if isHTTPToken(s) { return s }
            item.fail("\(item.value.jsonText()) is not a header name")
            return nil
        }
    }

    /// `scheme://host[:port]`, exactly what a browser sends in `Origin` (no path, no trailing slash).
    private func isOrigin(_ s: String) -> Bool {
        guard case .success(let u) = UpstreamURL.parse(s), u.basePath.isEmpty, !s.hasSuffix("/") else { return false }
        return true
    }

    /// Visible ASCII, space, tab and UTF-8 text; no CR, LF, NUL or other controls (header injection).
    private func isHeaderValue(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }
}
