import RampartHTTP

// libFuzzer target for RESP2, the Redis wire protocol: RESPDecoder (every reply Redis sends the
// quota, idempotency and journal stores) and RESPEncoder. Invariants, on any bytes:
//  - the decoder yields the same values and ends the same way (protocol error with the same
//    message, idle, or the same bytes still pending) whether the replies arrive at once, one byte
//    at a time or in irregular pieces, with the default limits and with small ones;
//  - every decoded value encodes (RESPEncoder.append) to bytes that decode to the same value, one
//    by one and as one stream;
//  - a command built from the input's NUL-separated parts (RESPEncoder.appendCommand) decodes to
//    the array of those bulk strings;
//  - Redis Cluster routing never leaves its bounds: every slot is in 0..<16384, every redirection
//    and CLUSTER SLOTS range read from a decoded reply names a slot in bounds and a port > 0, and a
//    command's routing key is one of its arguments.

enum End: Equatable {
    case failed(String)
    case idle
    case pending(buffered: Int)
}

let smallLimits = RESPDecoder.Limits(maxBulkBytes: 16, maxLineBytes: 24, maxArrayCount: 6, maxDepth: 3)

func decode(_ pieces: [ArraySlice<UInt8>], _ limits: RESPDecoder.Limits) -> ([RESPValue], End) {
    var d = RESPDecoder(limits: limits)
    var values: [RESPValue] = []
    for piece in pieces {
        d.feed(piece)
        do {
            while let v = try d.next() { values.append(v) }
        } catch {
            return (values, .failed(error.message))
        }
    }
    return (values, d.isIdle ? .idle : .pending(buffered: d.bufferedCount))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    for limits in [RESPDecoder.Limits(), smallLimits] {
        let whole = decode([input[...]], limits)
        let bytewise = decode(input.indices.map { input[$0...$0] }, limits)
        require(bytewise == whole, "one-shot \(whole) but byte-at-a-time \(bytewise): \(show(input))")
        let pieces = decode(irregularPieces(input), limits)
        require(pieces == whole, "one-shot \(whole) but in pieces \(pieces): \(show(input))")

        // With the default limits: invalid UTF-8 in a simple string comes back repaired, which
        // makes its line longer than the one read.
        var stream: [UInt8] = []
        for v in whole.0 {
            let encoded = RESPEncoder.encode(v)
            let back = decode([encoded[...]], RESPDecoder.Limits())
            require(back.0 == [v] && back.1 == .idle, "decode(encode(\(v))) = \(back) via \(show(encoded))")
            stream += encoded
        }
        let back = decode([stream[...]], RESPDecoder.Limits())
        require(back.0 == whole.0 && back.1 == .idle, "decode(encode(stream)) = \(back) for \(whole.0)")
    }

    for v in decode([input[...]], RESPDecoder.Limits()).0 {
        if case .error(let message) = v, let r = RedisCluster.redirect(message) {
            require((0..<RedisCluster.slotCount).contains(r.slot) && r.port > 0, "redirect \(r) from \(message.debugDescription)")
        }
        for range in RedisCluster.slotRanges(v) ?? [] {
            require(range.first >= 0 && range.first <= range.last && range.last < RedisCluster.slotCount && range.port > 0, "range \(range)")
        }
    }
    require((0..<RedisCluster.slotCount).contains(RedisCluster.slot(of: input)), "slot of \(show(input))")

    let args = input.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
    if let key = RedisCluster.routingKey(of: args) { require(args.contains(key), "routing key \(key) is not an argument") }
    var command: [UInt8] = []
    RESPEncoder.appendCommand(args, to: &command)
    let decoded = decode([command[...]], RESPDecoder.Limits())
    require(decoded.0 == [.array(args.map { .bulkString($0) })] && decoded.1 == .idle,
            "command \(args.count) parts decoded as \(decoded) via \(show(command))")
    return 0
}
