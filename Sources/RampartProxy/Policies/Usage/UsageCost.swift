import RampartHTTP
import RampartLoop
import RampartTransport
/// Prices token usage from `usage.prices` (USD per million tokens).
public enum UsageCost {
    /// The price for a model: an exact key first, else the longest configured key the model name starts
    /// with, because providers answer with dated names (`claude-sonnet-4-5-20250929`) while operators
    /// configure the family (`claude-sonnet-4-5`). An empty key therefore acts as a catch-all default.
    public static func price(for model: String, in prices: [String: PriceConfig]) -> PriceConfig? {
        if let exact = prices[model] { return exact }
        var best: (key: String, price: PriceConfig)?
        for (key, price) in prices where model.hasPrefix(key) {
            if best == nil || key.count > best!.key.count { best = (key, price) }
        }
        return best?.price
    }

    /// Dollars for one call, or nil when the model is unknown or unpriced (it is then still counted in
    /// tokens, just not in dollars). Cache reads and writes fall back to the input price when the table
    /// gives none, so an incomplete price table over- rather than under-states spend.
    public static func cost(_ usage: TokenUsage, prices: [String: PriceConfig]) -> Double? {
        guard let model = usage.model, let p = price(for: model, in: prices) else { return nil }
        let micro = Double(usage.inputTokens) * p.inputPerMtok
            + Double(usage.outputTokens) * p.outputPerMtok
            + Double(usage.cacheReadTokens) * (p.cacheReadPerMtok ?? p.inputPerMtok)
            + Double(usage.cacheWriteTokens) * (p.cacheWritePerMtok ?? p.inputPerMtok)
        return micro / 1_000_000
    }
}
