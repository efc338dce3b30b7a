import RampartHTTP

/// Response headers policy (SPEC §6.1): the configured security headers on every response —
/// proxied, streamed and Rampart's own errors — and the removal of headers that leak internals.
public enum SecurityHeaders {
    public static func apply(_ config: HeadersConfig, to headers: inout HTTPHeaders) {
        for name in config.remove { headers.remove(name) }
        for field in config.set {
            var name = field.name
            if config.cspReportOnly && name.lowercased() == "content-security-policy" {
                name = "Content-Security-Policy-Report-Only"
            }
            switch config.mode {
            case .override: headers.set(name, field.value)
            case .ifAbsent: if !headers.contains(name) { headers.add(name, field.value) }
            }
        }
    }
}
