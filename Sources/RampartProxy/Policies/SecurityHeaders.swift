import RampartHTTP
import RampartLoop
import RampartTransport

/// Response headers policy (SPEC §6.1): the configured security headers on every response —
/// proxied, streamed and Rampart's own errors — and the removal of headers that leak internals.
public enum SecurityHeaders {
    public static func apply(_ config: HeadersConfig, to headers: inout HTTPHeaders, tls: Bool = false) {
        for name in config.remove { headers.remove(name) }
        // HSTS only means something over TLS (browsers ignore it on plain HTTP).
        if tls && !config.set.contains(where: { $0.name.lowercased() == "strict-transport-security" }) && !headers.contains("Strict-Transport-Security") {
            headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        }
        for field in config.set {
            var name = field.name
            if config.cspReportOnly && name.asciiCaseInsensitiveEquals("content-security-policy" as StaticString) {
                name = "Content-Security-Policy-Report-Only"
            }
            // Never two CSP headers: report-only mode replaces an enforcing one from upstream too.
            if name == "Content-Security-Policy-Report-Only" { headers.remove("Content-Security-Policy") }
            switch config.mode {
            case .override: headers.set(name, field.value)
            case .ifAbsent: if !headers.contains(name) { headers.add(name, field.value) }
            }
        }
    }
}
