/// Finds the JSON a model wrapped in prose: `stream_save.validate` with `"extract": "fenced_json"`
/// (SPEC §11.13). Standalone (no other Rampart types), so the fuzz target can compile it alone.
enum FencedJSON {
    /// The body of the first fenced code block (CommonMark: a line of three or more backticks or
    /// tildes, up to the next such line) whose info string is `json`, else the first without an
    /// info string. Nil when there is none; an unclosed block runs to the end of the text.
    static func first(_ text: String) -> Substring? {
        enum Kind { case json, untagged, other }
        // Scalars, not Characters: "\r\n" is one Character, so a line split on "\n" would miss it.
        let scalars = text.unicodeScalars
        var untagged: Substring?
        var open: (marker: Unicode.Scalar, length: Int, kind: Kind, start: String.Index)?
        var lineStart = scalars.startIndex
        while lineStart < scalars.endIndex {
            let lineEnd = scalars[lineStart...].firstIndex(of: "\n") ?? scalars.endIndex
            var line = scalars[lineStart..<lineEnd]
            if line.last == "\r" { line = line.dropLast() }
            let indent = line.prefix { $0 == " " }.count
            let trimmed = line.dropFirst(indent)
            let next = lineEnd < scalars.endIndex ? scalars.index(after: lineEnd) : scalars.endIndex
            if let current = open {
                let closing = trimmed.prefix { $0 == current.marker }.count
                if closing >= current.length, trimmed.dropFirst(closing).allSatisfy({ $0 == " " }) {
                    let body = Substring(scalars[current.start..<lineStart])
                    if current.kind == .json { return body }
                    if current.kind == .untagged && untagged == nil { untagged = body }
                    open = nil
                }
            } else if indent < 4, let marker = trimmed.first, marker == "`" || marker == "~" {
                let length = trimmed.prefix { $0 == marker }.count
                if length >= 3 {
                    let info = String(String.UnicodeScalarView(trimmed.dropFirst(length))).split(separator: " ").first.map { $0.lowercased() }
                    open = (marker, length, info == nil ? .untagged : info == "json" ? .json : .other, next)
                }
            }
            lineStart = next
        }
        if let current = open, current.kind == .json { return Substring(scalars[current.start...]) }
        return untagged
    }
}
