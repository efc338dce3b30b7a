// libFuzzer target for the fenced-JSON extractor of stream_save.validate (FencedJSON.first, which
// OutputCheck calls). Invariants: no crash, and what it returns is a substring of
// the input (a slice of it, at the same position).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let block = FencedJSON.first(input) {
        guard block.base == input, block.startIndex >= input.startIndex, block.endIndex <= input.endIndex,
              input[block.startIndex..<block.endIndex] == block, input.contains(String(block)) || block.isEmpty else {
            fatalError("not a substring of the input: \(input.debugDescription) -> \(block.debugDescription)")
        }
    }
    return 0
}
