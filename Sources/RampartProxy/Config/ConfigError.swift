import RampartHTTP
import RampartLoop
import RampartTransport
/// One problem in a config, located by its JSON path so `rampart check` output points at the line to fix.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// JSON path such as `routes[2].quotas[0].per`; empty for problems of the whole file (syntax, I/O).
    public var path: String
    public var message: String

    public init(path: String, message: String) { self.path = path; self.message = message }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in one pass: ops fix a config in one round trip, not one error per run.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects errors while decoding; a class so every section decoder appends to the same list.
package final class Diagnostics {
    package private(set) var errors: [ConfigError] = []
    /// Every environment variable and secret file the config names, set or not.
    package private(set) var secrets: [SecretReference] = []
    /// `rampart serve` and reloads require each secret now; `rampart check` only lists them, so a
    /// config can be checked on a machine that holds none of them.
    package let requireSecrets: Bool

    package init(requireSecrets: Bool = true) { self.requireSecrets = requireSecrets }

    package func error(_ path: String, _ message: String) { errors.append(ConfigError(path: path, message: message)) }
    package func secret(_ reference: SecretReference) { secrets.append(reference) }
}

/// A secret the config refers to: an environment variable (`*_env` keys) or a file only the
/// running gateway reads (admin tokens, TLS keys). `rampart check` lists them for the deployer.
public struct SecretReference: Sendable, Equatable {
    public enum Kind: String, Sendable { case env, file }
    public var kind: Kind
    /// The variable's name or the file's path.
    public var name: String
    /// The config key that names it, e.g. `admin.token_env`.
    public var path: String
    /// Whether it is set (env) or readable (file) where the config was loaded.
    public var present: Bool
    package init(kind: Kind, name: String, path: String, present: Bool) {
        self.kind = kind; self.name = name; self.path = path; self.present = present
    }
}

