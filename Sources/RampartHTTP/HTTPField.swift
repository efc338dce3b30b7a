/// One header field exactly as received (name case preserved), so a proxy can
/// forward it unchanged.
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
