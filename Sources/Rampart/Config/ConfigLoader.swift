import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Foundation

/// Turns gateway.json into a validated `GatewayConfig`. Every problem is collected and reported
/// with its JSON path in one go, so `rampart check` and `POST /admin/reload` show the full list.
public enum ConfigLoader {
    /// `requireSecrets: false` (for `rampart check`) lists unset variables and missing secret
    /// files in `GatewayConfig.secrets` instead of failing on them.
    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            requireSecrets: Bool = true) throws(ConfigErrors) -> GatewayConfig {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw ConfigErrors([ConfigError(path: "", message: "cannot read \(path): \(reason)")])
        }
        return try parse(bytes: bytes, environment: environment, requireSecrets: requireSecrets)
    }

    public static func parse(bytes: [UInt8],
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             requireSecrets: Bool = true) throws(ConfigErrors) -> GatewayConfig {
        var parser = JSONParser(bytes: bytes, rejectDuplicates: false)
        let root: JSONValue
        do throws(JSONSyntaxError) {
            root = try parser.parseDocument()
        } catch {
            throw ConfigErrors([ConfigError(path: "", message: "invalid JSON at line \(error.line), column \(error.column): \(error.message)")])
        }
        let diag = Diagnostics(requireSecrets: requireSecrets)
        for dup in parser.duplicates {
            diag.error(dup.path, "duplicate key (line \(dup.line), column \(dup.column)); each key may appear once")
        }
        let decoder = ConfigDecoder(diag: diag, environment: environment)
        let config = decoder.decode(root, hash: SHA256.hex(bytes))
        if !diag.errors.isEmpty { throw ConfigErrors(diag.errors) }
        guard let config else { throw ConfigErrors([ConfigError(path: "", message: "invalid config")]) }
        return config
    }

    /// Convenience for tests and `POST /admin/config/validate` bodies held as text.
    public static func parse(json: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             requireSecrets: Bool = true) throws(ConfigErrors) -> GatewayConfig {
        try parse(bytes: Array(json.utf8), environment: environment, requireSecrets: requireSecrets)
    }
}

/// Decodes the sections of the document; per-section code lives in ConfigLoader+*.swift.
struct ConfigDecoder {
    let diag: Diagnostics
    let environment: [String: String]

    static let topLevelKeys = ["server", "admin", "store", "identity", "upstreams", "headers", "routes", "usage", "logging", "tracing"]

    func decode(_ root: JSONValue, hash: String) -> GatewayConfig? {
        let rootField = Field(value: root, path: "", diag: diag)
        guard case .object = root else {
            diag.error("", "the config must be a JSON object, got \(root.typeName)")
            return nil
        }
        guard let top = rootField.object(keys: Self.topLevelKeys) else { return nil }
        let server = decodeServer(top["server"])
        let admin = decodeAdmin(top["admin"])
        let store = decodeStore(top["store"])
        let identity = decodeIdentity(top["identity"])
        let upstreams = decodeUpstreams(top.required("upstreams"))
        let headers = decodeHeaders(top["headers"], base: HeadersConfig(), mergeSet: false)
        let routes = decodeRoutes(top["routes"], upstreams: upstreams, headers: headers, identity: identity)
        let usage = decodeUsage(top["usage"])
        let logging = decodeLogging(top["logging"])
        let tracing = top["tracing"].flatMap(decodeTracing)
        return GatewayConfig(server: server, admin: admin, store: store, identity: identity, upstreams: upstreams,
                             headers: headers, routes: routes, usage: usage, logging: logging, tracing: tracing, hash: hash, source: root,
                             secrets: diag.secrets)
    }

    /// `tracing` (SPEC §11.10): the collector's OTLP/HTTP traces URL, a sample ratio, the service name.
    func decodeTracing(_ f: Field) -> TracingConfig? {
        guard let o = f.object(keys: ["otlp_endpoint", "sample_ratio", "service_name"]) else { return nil }
        guard let ef = o.required("otlp_endpoint"), let endpoint = ef.nonEmptyString else { return nil }
        if case .failure(let m) = UpstreamURL.parse(endpoint) { ef.fail(m.text) }
        var t = TracingConfig(otlpEndpoint: endpoint)
        if let v = o["sample_ratio"]?.number(min: 0, max: 1) { t.sampleRatio = v }
        if let v = o["service_name"]?.nonEmptyString { t.serviceName = v }
        return t
    }

    // MARK: - Shared checks

    /// Referenced files must exist now (relative to the working directory), not fail at first use.
    func checkFileExists(_ field: Field?) -> String? {
        guard let field, let file = field.nonEmptyString else { return nil }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) || isDirectory.boolValue {
            field.fail("file \(JSONValue.string(file).jsonText()) not found (relative to \(FileManager.default.currentDirectoryPath))")
        }
        return file
    }

    /// Secrets live in environment variables; a named but unset variable is an error at load
    /// time, so a deploy without its secret fails fast instead of running unprotected.
    func checkSecretEnv(_ field: Field?) -> String? {
        guard let field, let name = field.nonEmptyString else { return nil }
        guard isEnvName(name) else {
            field.fail("\(JSONValue.string(name).jsonText()) is not an environment variable name")
            return nil
        }
        let present = !(environment[name] ?? "").isEmpty
        diag.secret(SecretReference(kind: .env, name: name, path: field.path, present: present))
        if !present && diag.requireSecrets { field.fail("environment variable \(name) is not set") }
        return name
    }

    /// A file only the running gateway reads (TLS key, admin tokens): required to be readable by
    /// `serve`, only listed by `check`. `validate` checks its content when it can be read.
    func checkSecretFile(_ field: Field?, validate: (String) -> String? = { _ in nil }) -> String? {
        guard let field, let file = field.nonEmptyString else { return nil }
        let text = try? String(contentsOfFile: file, encoding: .utf8)
        diag.secret(SecretReference(kind: .file, name: file, path: field.path, present: text != nil))
        if let text {
            if let problem = validate(text) { field.fail(problem) }
        } else if diag.requireSecrets {
            let quoted = JSONValue.string(file).jsonText(), cwd = FileManager.default.currentDirectoryPath
            field.fail(FileManager.default.fileExists(atPath: file) ? "cannot read \(quoted) (permission denied or not a file)"
                                                                    : "file \(quoted) not found (relative to \(cwd))")
        }
        return file
    }

    private func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return s.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
    }
}

/// RFC 9110 token: header names, methods and cookie names must be one, or they cannot go on the wire.
func isHTTPToken(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { c in
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }
}

/// Names used in admin URLs and metric labels: letters, digits, '-', '_' and '.'.
func isSimpleName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { c in
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
    }
}
