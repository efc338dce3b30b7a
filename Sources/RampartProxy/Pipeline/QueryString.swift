import Foundation

/// A URL's query as a dictionary (the last value of a repeated name wins), `+` read as a space and
/// percent escapes decoded: what save templates (`{query.name}`) and the admin API read.
package enum QueryString {
    package static func parse(_ q: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let v = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
            out[k] = v
        }
        return out
    }
}
