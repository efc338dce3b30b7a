/// One header field exactly as received (name case preserved), so a proxy can
/// forward it unchanged.
public struct HTTPField: Sendable {
    public var name: String { didSet { isWireChecked = false } }
    public var value: String { didSet { isWireChecked = false } }
    /// The name is a token and the value holds only field-value bytes (the parsers checked every
    /// byte, or `checked(name:value:)` did): serialisers copy it as is instead of checking again.
    /// Any change to the name or value clears it.
    public internal(set) var isWireChecked: Bool

    public init(name: String, value: String) {
        self.name = name
        self.value = value
        isWireChecked = false
    }

    /// Marks a field whose bytes were checked where it came from (a parsed head).
    mutating func markChecked() { isWireChecked = true }

    /// A field checked once here, for fields made once and written on many responses (config
    /// headers): later serialisations copy it without a per-byte pass.
    public static func checked(name: String, value: String) -> HTTPField {
        var f = HTTPField(name: name, value: value)
        f.isWireChecked = HTTPHeaders.withBytes(name, ByteClass.isToken) && HTTPHeaders.withBytes(value, ByteClass.isFieldValue)
        return f
    }
}

extension HTTPField: Equatable {
    /// Equal by name and value; whether the bytes were checked is not part of what a field is.
    public static func == (a: HTTPField, b: HTTPField) -> Bool { a.name == b.name && a.value == b.value }
}
