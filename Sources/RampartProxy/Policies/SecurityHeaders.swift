import RampartHTTP
import RampartLoop
import RampartTransport

/// Response headers policy (SPEC §6.1): the configured security headers on every response —
/// proxied, streamed and Rampart's own errors — and the removal of headers that leak internals.
public enum SecurityHeaders {
    public static func apply(_ config: HeadersConfig, to headers: inout HTTPHeaders, tls: Bool = false) {
        if let plan = config.plan {
            plan.apply(to: &headers, hsts: tls && !config.setsHSTS)
            return
        }
        for name in config.remove { headers.remove(name) }
        // HSTS only means something over TLS (browsers ignore it on plain HTTP).
        if tls && !config.setsHSTS && !headers.contains("Strict-Transport-Security") {
            headers.add(SecurityHeadersPlan.defaultHSTS)
        }
        for (field, displacesCSP) in config.resolvedSet {
            // Never two CSP headers: report-only mode replaces an enforcing one from upstream too.
            if displacesCSP { headers.remove("Content-Security-Policy") }
            switch config.mode {
            case .override: headers.set(field)
            case .ifAbsent: if !headers.contains(field.name) { headers.add(field) }
            }
        }
    }
}

/// The header rules in one pass over the response's fields, with the same outcome as applying
/// them one by one (removals, HSTS over TLS, then each `set` in order) but without a scan of the
/// whole list per rule. Made when the config loads, for configs where the order of the rules
/// cannot change the outcome (no name both removed and set, no name set twice); others keep the
/// rule-by-rule path.
final class SecurityHeadersPlan: Sendable {
    static let defaultHSTS = HTTPField.checked(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains")
    static let defaultHSTSHeaders = HTTPHeaders([defaultHSTS])

    /// Lowercased names to drop (the `remove` list, and an enforcing CSP a report-only one displaces).
    let removed: [[UInt8]]
    /// Lowercased names of `fields`, index for index.
    let setNames: [[UInt8]]
    /// The fields to set, checked once for the wire.
    let fields: [HTTPField]
    /// The same as one head, appended whole when a response has none of them.
    let allFields: HTTPHeaders
    /// Their values' bytes and whether each was checked, for replacing a value in place.
    let values: [[UInt8]]
    let checked: [Bool]
    let override: Bool
    /// `allFields` with their lines written once, for heads written in one pass; and after the
    /// default HSTS field, what such a head over TLS gets when it has neither.
    let fixed: FixedFields
    let fixedWithHSTS: FixedFields
    /// No rule names a field a proxy hop handles itself (framing, Connection, Via, the request
    /// id…): a proxied head may then be written in one pass (`ResponseFinish.forwarded`).
    let forwardsFast: Bool
    /// Bit n set: some removed or set name is n bytes long (names of 64 bytes or more set bit 63).
    /// Most of a response's fields match no length, and are passed over without a compare.
    let lengths: UInt64

    init?(_ config: HeadersConfig) {
        var removed = config.remove.map(Self.lower)
        if config.resolvedSet.contains(where: \.displacesCSP) { removed.append(Self.lower("Content-Security-Policy")) }
        let setNames = config.resolvedSet.map { Self.lower($0.field.name) }
        // Bit masks track which rules were seen: up to 64 set fields.
        guard setNames.count <= 64, Set(setNames).count == setNames.count,
              !setNames.contains(where: removed.contains) else { return nil }
        self.removed = removed
        self.setNames = setNames
        fields = config.resolvedSet.map(\.field)
        allFields = HTTPHeaders(fields)
        values = fields.map { Array($0.value.utf8) }
        checked = fields.map(\.isWireChecked)
        override = config.mode == .override
        lengths = (removed + setNames).reduce(0) { $0 | Self.lengthBit($1.count) }
        var withHSTS = Self.defaultHSTSHeaders
        withHSTS.append(contentsOf: allFields)
        fixed = FixedFields(allFields)
        fixedWithHSTS = FixedFields(withHSTS)
        forwardsFast = (removed + setNames).allSatisfy { name in
            let k = name.withUnsafeBufferPointer { KnownHeaderName.classify($0) }
            return k == .other || k == .strictTransportSecurity
        }
    }

    /// What the rules do to one field of a head written in one pass.
    enum ForwardedMatch { case keep, drop, fallBack }

    /// A removed name is dropped; a set name or HSTS needs the rule-by-rule edit (its place, or
    /// whether the configured field is added, depends on it): the head takes `apply` instead.
    func forwardedMatch(_ name: UnsafeBufferPointer<UInt8>) -> ForwardedMatch {
        switch match(name) {
        case .other: return .keep
        case .removed: return .drop
        case .set, .hsts: return .fallBack
        }
    }

    @inline(__always) private static func lengthBit(_ count: Int) -> UInt64 { 1 << UInt64(Swift.min(count, 63)) }

    func apply(to headers: inout HTTPHeaders, hsts: Bool) {
        var seen: UInt64 = 0
        var hasHSTS = false
        var edits = false
        // One read-only pass finds what is there; most responses carry none of the fields.
        headers.withFieldBytes { f in
            for i in 0..<f.count {
                switch match(f.name(i)) {
                case .removed: edits = true
                case .set(let j):
                    if override { edits = true }
                    seen |= 1 << UInt64(j)
                case .hsts: hasHSTS = true
                case .other: break
                }
            }
        }
        if edits { seen = edit(&headers) }
        if hsts && !hasHSTS { headers.append(contentsOf: Self.defaultHSTSHeaders) }
        if seen == 0 {
            headers.append(contentsOf: allFields)
            return
        }
        for j in fields.indices where seen & (1 << UInt64(j)) == 0 { headers.add(fields[j]) }
    }

    /// Removes what the rules remove and, in override mode, gives the first field of each set name
    /// the configured value and drops the rest. Returns the set names seen.
    private func edit(_ headers: inout HTTPHeaders) -> UInt64 {
        var seen: UInt64 = 0
        var i = 0
        while i < headers.count {
            switch headers.withFieldBytes({ f in match(f.name(i)) }) {
            case .removed:
                headers.remove(at: i)
                continue
            case .set(let j):
                let bit: UInt64 = 1 << UInt64(j)
                if override {
                    // `set` keeps the first position (and its name's case) and drops the rest.
                    if seen & bit != 0 { headers.remove(at: i); continue }
                    values[j].withUnsafeBufferPointer { headers.replaceValue(at: i, with: $0, checked: checked[j]) }
                }
                seen |= bit
            case .hsts, .other: break
            }
            i += 1
        }
        return seen
    }

    private enum Match { case removed, set(Int), hsts, other }

    private func match(_ n: UnsafeBufferPointer<UInt8>) -> Match {
        if lengths & Self.lengthBit(n.count) != 0 {
            for r in removed where ASCIIBytes.equalsLowercased(n, r) { return .removed }
            for j in setNames.indices where ASCIIBytes.equalsLowercased(n, setNames[j]) { return .set(j) }
        }
        return ASCIIBytes.equalsLowercase(n, "strict-transport-security") ? .hsts : .other   // compares only at length 25
    }

    private static func lower(_ s: String) -> [UInt8] {
        s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }
}
