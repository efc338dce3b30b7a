import RampartHTTP
import RampartLoop
import RampartTransport
/// Checks request bodies against a route's `validate` schema before they reach the app
/// (SPEC §6.4), so the app only ever sees documents of the shape it declared.
///
/// Built once per route when the config loads: patterns and formats are compiled here, and
/// the per-request work is one parse, an optional trim pass and one walk of the schema.
public struct RequestValidator: Sendable {
    /// The deepest nesting of arrays and objects a body may have. The schema walk only descends
    /// where the schema does, but parsing, trimming and `enum` comparison visit the whole
    /// document, so an attacker-chosen depth must be capped before it can exhaust the stack.
    public let maxDepth: Int
    let root: SchemaNode
    package let trim: Bool

    public init(_ config: ValidateConfig, maxDepth: Int = 64) {
        self.root = SchemaNode(config.schema)
        self.trim = config.trim
        self.maxDepth = max(1, maxDepth)
    }

    /// Validates a JSON body. On success returns the body to forward: the original bytes
    /// untouched when nothing was trimmed, else the re-serialised trimmed document (key order
    /// kept; compact; numbers in Rampart's canonical form, so integers beyond 2^53 may lose
    /// precision — only ever on bodies whose strings actually needed trimming).
    public func validate(_ body: [UInt8]) -> Result<[UInt8], ValidationFailure> {
        let document: JSONValue
        do {
            document = try JSONValue.parse(body, maxDepth: maxDepth)
        } catch {
            // The parser stops at the depth limit; tell that apart from broken syntax so the
            // client is not told valid JSON is invalid.
            if JSONValue.nestingExceeds(maxDepth, in: body) {
                let detail = ValidationDetail(field: "", message: "Must not be nested deeper than \(maxDepth) levels")
                return .failure(ValidationFailure(details: [detail]))
            }
            return .failure(.invalidJSON)
        }
        let trimmed = trim ? document.trimmingStrings() : nil
        var details: [ValidationDetail] = []
        root.check(trimmed ?? document, at: "", into: &details)
        if !details.isEmpty { return .failure(ValidationFailure(details: details)) }
        guard let trimmed else { return .success(body) }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        trimmed.write(to: &out)
        return .success(out)
    }
}
