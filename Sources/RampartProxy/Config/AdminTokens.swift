import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL
import Foundation

/// The bearer tokens the admin API accepts: the one named by `admin.token_env` and every line of
/// `admin.token_file`. More than one at a time is what makes rotation seamless: add the new token,
/// reload, move the clients over, remove the old one, reload. The file is read with each config.
public struct AdminTokens: Sendable {
    private let tokens: [[UInt8]]
    /// A non-secret name per token for audit lines: `sha256:` and the first 12 hex digits of its
    /// hash, which ops can compute from the token they hold and which reveals nothing usable.
    private let ids: [String]

    /// No token configured: every admin call is refused unless `admin.insecure_no_auth` is set.
    public var isEmpty: Bool { tokens.isEmpty }
    public var count: Int { tokens.count }

    public init(_ tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
        self.ids = tokens.map { "sha256:" + SHA256.hex(Array($0.utf8)).prefix(12) }
    }

    /// The audit id of the token `given` matches, or nil. Compares against every token without
    /// stopping early, each in constant time, so neither the match position nor a common prefix
    /// shows in the timing.
    public func match(_ given: [UInt8]) -> String? {
        var found: Int?
        for (i, t) in tokens.enumerated() where Self.constantTimeEqual(given, t) && found == nil { found = i }
        return found.map { ids[$0] }
    }

    public static func load(_ admin: AdminConfig, environment: [String: String]) throws(ActivationError) -> AdminTokens {
        var all: [String] = []
        if let name = admin.tokenEnv, let t = environment[name], !t.isEmpty { all.append(t) }
        if let path = admin.tokenFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ActivationError(path: "admin.token_file", message: "cannot read \(path)")
            }
            let fromFile = lines(text)
            if fromFile.isEmpty { throw ActivationError(path: "admin.token_file", message: "\(path) holds no token") }
            all += fromFile
        }
        return AdminTokens(all)
    }

    /// One token per line; blank lines and `#` comments are skipped, surrounding spaces trimmed.
    public static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Whether any token matches (see `match`).
    public func accepts(_ given: [UInt8]) -> Bool { match(given) != nil }

    /// CRYPTO_memcmp over equal lengths; a length mismatch still does the full comparison work.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let same = a.count == b.count
        let lhs = same ? a : b
        let r = lhs.withUnsafeBytes { l in b.withUnsafeBytes { r in rampart_ct_memcmp(l.baseAddress, r.baseAddress, b.count) } }
        return same && r == 0
    }
}
