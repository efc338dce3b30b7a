import RampartHTTP

/// The provider wire format of an AI route (SPEC §11.1): its usage is always counted, its streams
/// end with the format's own error when cut short, and its provider errors keep their shape.
public enum AIFormat: String, Sendable, CaseIterable { case anthropic, openai }

public struct PriceConfig: Sendable {
    public var inputPerMtok: Double
    public var outputPerMtok: Double
    public var cacheReadPerMtok: Double?
    public var cacheWritePerMtok: Double?
    package init(inputPerMtok: Double, outputPerMtok: Double, cacheReadPerMtok: Double? = nil, cacheWritePerMtok: Double? = nil) {
        self.inputPerMtok = inputPerMtok; self.outputPerMtok = outputPerMtok; self.cacheReadPerMtok = cacheReadPerMtok; self.cacheWritePerMtok = cacheWritePerMtok
    }
}

public struct BudgetConfig: Sendable {
    public var per: Duration
    public var usd: Double
    public var key: QuotaConfig.Key = .user
    package init(per: Duration, usd: Double, key: QuotaConfig.Key = .user) {
        self.per = per; self.usd = usd; self.key = key
    }
}

public struct UsageConfig: Sendable {
    public var prices: [String: PriceConfig] = [:]
    public var budgets: [BudgetConfig] = []
    /// When a response reports no usage, its input is estimated from the request body at this
    /// many characters per token, and its output is the request's max tokens, else this.
    public var charsPerToken: Double = 4
    public var fallbackOutputTokens = 4096
    package init(prices: [String: PriceConfig] = [:], budgets: [BudgetConfig] = []) {
        self.prices = prices; self.budgets = budgets
    }
}
