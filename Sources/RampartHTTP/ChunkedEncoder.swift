/// Chunked framing for responses whose length is unknown up front (streams).
/// Callers write: chunkHeader(size) + data + chunkTrailer per chunk, then lastChunk.
public enum ChunkedEncoder {
    /// Appends "<lowercase hex size>\r\n". Never call with 0: that would end the body early.
    public static func chunkHeader(size: Int, into out: inout [UInt8]) {
        assert(size > 0, "a zero-size chunk terminates the body; use lastChunk")
        var shift = Swift.max(0, (Int.bitWidth - size.leadingZeroBitCount + 3) / 4 - 1) * 4
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (size >> shift) & 0xF)
            out.append(d < 10 ? 0x30 + d : 0x57 + d)
            shift -= 4
        }
        out.append(CR)
        out.append(LF)
    }

    /// "\r\n" after each chunk's data.
    public static let chunkTrailer: [UInt8] = [CR, LF]
    /// "0\r\n\r\n": last chunk, no trailers.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
