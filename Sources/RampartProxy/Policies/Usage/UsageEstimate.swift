import RampartHTTP

/// What a call on an AI route is charged when its response reports no usage (SPEC §11.2): input
/// from the request body's length at `usage.chars_per_token`, output the request's own ceiling
/// (`max_tokens`, `max_completion_tokens`), else `usage.fallback_output_tokens`. It errs high, so
/// a client cannot make a call cheaper by hiding its usage.
enum UsageEstimate {
    static func of(_ body: [UInt8], config: UsageConfig) -> TokenUsage {
        var chars = 0
        for b in body where b & 0xC0 != 0x80 { chars += 1 }   // characters, not UTF-8 bytes
        var estimate = TokenUsage(inputTokens: Int((Double(chars) / config.charsPerToken).rounded(.up)),
                                  outputTokens: config.fallbackOutputTokens)
        guard case .object(let members)? = try? JSONValue.parse(body) else { return estimate }
        for (key, value) in members {
            switch (key, value) {
            case ("max_tokens", .number(let n)), ("max_completion_tokens", .number(let n)):
                if n >= 0 && n < 1e9 { estimate.outputTokens = Int(n) }
            case ("model", .string(let model)): estimate.model = model
            default: break
            }
        }
        return estimate
    }
}
