import RampartHTTP
import RampartLoop
import RampartTransport
/// Tokens one AI call used, normalised across providers so one price table prices them all.
///
/// `inputTokens` are the *uncached* prompt tokens: Anthropic's `input_tokens` as is (it already excludes
/// cache reads and writes), OpenAI's `prompt_tokens` minus `prompt_tokens_details.cached_tokens` (OpenAI
/// counts cached tokens inside the prompt). So `inputTokens + cacheReadTokens + cacheWriteTokens` is the
/// whole prompt for both, and a cached token is never billed twice.
public struct TokenUsage: Sendable, Equatable {
    /// Model named by the response (what actually ran, which may differ from what was asked for).
    public var model: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadTokens: Int
    public var cacheWriteTokens: Int

    public init(model: String? = nil, inputTokens: Int = 0, outputTokens: Int = 0,
                cacheReadTokens: Int = 0, cacheWriteTokens: Int = 0) {
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
    }

    /// The whole prompt, cached or not.
    public var promptTokens: Int { inputTokens + cacheReadTokens + cacheWriteTokens }
}

/// Collects usage from parsed response documents (a JSON body, or one SSE event's data).
///
/// Streams report counts that are cumulative (Anthropic's `message_delta`) or that arrive once (OpenAI's
/// final chunk); taking the maximum of each field handles both, and a provider that repeats a field with
/// 0 in a later event (seen with some Anthropic-compatible proxies) cannot erase the real count.
struct UsageAccumulator: Sendable {
    package private(set) var usage = TokenUsage()
    /// Whether any usage object was seen; a response without one yields no usage rather than zeros.
    private(set) var sawUsage = false

    package var result: TokenUsage? { sawUsage ? usage : nil }

    /// Reads `model` and `usage` at the top level and one level down in `message` (Anthropic
    /// `message_start`) or `response` (OpenAI Responses API `response.completed`).
    mutating func absorb(document: JSONValue, nested: Bool = false) {
        if usage.model == nil, case .string(let m)? = document["model"], !m.isEmpty { usage.model = m }
        if let u = document["usage"] { absorb(usage: u) }
        guard !nested else { return }
        for member in ["message", "response"] {
            if let inner = document[member], case .object = inner { absorb(document: inner, nested: true) }
        }
    }

    private mutating func absorb(usage u: JSONValue) {
        guard case .object = u else { return }   // OpenAI sends "usage": null on every chunk but the last
        var input: Int?
        var cacheRead = Self.count(u["cache_read_input_tokens"])
        if let prompt = Self.count(u["prompt_tokens"]) {
            // OpenAI Chat Completions: cached tokens are part of prompt_tokens.
            let cached = Self.count(u["prompt_tokens_details"]?["cached_tokens"]) ?? 0
            input = max(0, prompt - cached)
            cacheRead = max(cacheRead ?? 0, cached)
        } else if let raw = Self.count(u["input_tokens"]) {
            // Anthropic (already uncached), or OpenAI Responses API (cached tokens inside, in a details object).
            // (The Realtime API spells the details object `input_token_details`.)
            let cached = Self.count(u["input_tokens_details"]?["cached_tokens"]) ?? Self.count(u["input_token_details"]?["cached_tokens"])
            input = max(0, raw - (cached ?? 0))
            if let cached { cacheRead = max(cacheRead ?? 0, cached) }
        }
        let output = Self.count(u["completion_tokens"]) ?? Self.count(u["output_tokens"])
        let cacheWrite = Self.count(u["cache_creation_input_tokens"])
        guard input != nil || output != nil || cacheRead != nil || cacheWrite != nil else { return }
        sawUsage = true
        usage.inputTokens = max(usage.inputTokens, input ?? 0)
        usage.outputTokens = max(usage.outputTokens, output ?? 0)
        usage.cacheReadTokens = max(usage.cacheReadTokens, cacheRead ?? 0)
        usage.cacheWriteTokens = max(usage.cacheWriteTokens, cacheWrite ?? 0)
    }

    /// A token count: a non-negative finite number (bounded so a hostile value cannot trap on conversion).
    private static func count(_ v: JSONValue?) -> Int? {
        guard case .number(let d)? = v, d.isFinite, d >= 0, d < 1e15 else { return nil }
        return Int(d)
    }
}
