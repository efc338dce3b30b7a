/// Ordered header list with duplicates kept: order and repetition carry meaning
/// (Set-Cookie, Via, Connection) and a proxy must not reorder or merge them.
/// Name lookups are ASCII case-insensitive as RFC 9110 requires.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public var fields: [HTTPField]

    public init() { fields = [] }
    public init(_ fields: [HTTPField]) { self.fields = fields }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[HTTPField]> { fields.makeIterator() }

    /// First value for `name`, nil when absent.
    public subscript(name: String) -> String? {
        for f in fields where f.name.asciiCaseInsensitiveEquals(name) { return f.value }
        return nil
    }

    /// All values for `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { $0.name.asciiCaseInsensitiveEquals(name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Appends a field as made (a checked field stays checked).
    public mutating func add(_ field: HTTPField) {
        fields.append(field)
    }

    /// Replaces all `name` fields by one, at the position of the first (appended when absent).
    public mutating func set(_ name: String, _ value: String) {
        set(HTTPField(name: name, value: value))
    }

    /// The same with a field as made; the first existing field keeps its name's case.
    public mutating func set(_ field: HTTPField) {
        var first = 0
        while first < fields.count, !fields[first].name.asciiCaseInsensitiveEquals(field.name) { first += 1 }
        guard first < fields.count else { add(field); return }
        fields[first].takeValue(of: field)
        var i = fields.count - 1
        while i > first {
            if fields[i].name.asciiCaseInsensitiveEquals(field.name) { fields.remove(at: i) }
            i -= 1
        }
    }

    /// Names of other fields the Connection header(s) list as hop-by-hop (RFC 9110 §7.6.1),
    /// lowercased, split by the parser's own token splitter. `close` and `keep-alive` are left
    /// out: they name no field a proxy must drop beyond the hop-by-hop set, and they are what
    /// almost every response sends.
    public func connectionFieldNames() -> [String] {
        var names: [String] = []
        for f in fields where f.name.asciiCaseInsensitiveEquals("connection" as StaticString) {
            if f.value.asciiCaseInsensitiveEquals("keep-alive" as StaticString) || f.value.asciiCaseInsensitiveEquals("close" as StaticString) { continue }
            var value = f.value
            value.withUTF8 { _ = HeaderFieldsParser.appendTokens(UnsafeRawBufferPointer($0), 0..<$0.count, &names) }
        }
        names.removeAll { $0 == "close" || $0 == "keep-alive" }
        return names
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    public mutating func removeAll(where shouldRemove: (HTTPField) -> Bool) {
        fields.removeAll(where: shouldRemove)
    }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    /// Literal order is kept, which makes tests and fixed responses readable.
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }
}
