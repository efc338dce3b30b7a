import RampartHTTP
import RampartLoop
import RampartTransport

/// Response headers policy (SPEC §6.1): the configured security headers on every response —
/// proxied, streamed and Rampart's own errors — and the removal of headers that leak internals.
public enum SecurityHeaders {
    public static func apply(_ config: HeadersConfig, to headers: inout HTTPHeaders, tls: Bool = false) {
        for name in config.remove { headers.remove(name) }
        // HSTS only means something over TLS (browsers ignore it on plain HTTP).
        if tls && !config.setsHSTS && !headers.contains("Strict-Transport-Security") {
            headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        }
        for (field, displacesCSP) in config.resolvedSet {
            // Never two CSP headers: report-only mode replaces an enforcing one from upstream too.
            if displacesCSP { headers.remove("Content-Security-Policy") }
            switch config.mode {
            case .override: headers.set(field.name, field.value)
            case .ifAbsent: if !headers.contains(field.name) { headers.add(field.name, field.value) }
            }
        }
    }
}
