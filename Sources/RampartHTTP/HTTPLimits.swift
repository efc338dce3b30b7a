/// Size limits applied while the head is still arriving, so an oversized or
/// endless head is refused before it is buffered (SPEC §6.3, `server.limits`).
public struct HTTPLimits: Sendable {
    /// Whole head including leading CRLFs and the final empty line -> 431 beyond.
    public var maxHeaderBytes: Int
    /// Request line (method SP target SP version, without CRLF) -> 414 beyond, like nginx.
    public var maxURLBytes: Int
    /// Number of header fields -> 431 beyond.
    public var maxHeaderCount: Int = 100

    public init(maxHeaderBytes: Int = 16384, maxURLBytes: Int = 8192) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxURLBytes = maxURLBytes
    }

    public init(maxHeaderBytes: Int, maxURLBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxURLBytes = maxURLBytes
        self.maxHeaderCount = maxHeaderCount
    }
}
