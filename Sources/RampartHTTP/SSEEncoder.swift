/// Writes events in text/event-stream format (used for Rampart's own events, e.g. save_status).
public enum SSEEncoder {
    /// "event: <event>\n" (when given), "id: <id>\n" (when given), one "data: <line>\n" per line of `data`
    /// (CRLF, LF and CR all split lines, as the parser reads them), then a blank line.
    /// CR, LF and NUL are removed from `event` and `id`, which must stay on one line.
    public static func encode(event: String?, data: String, id: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 32)
        if let event { appendField("event", event, to: &out) }
        if let id { appendField("id", id, to: &out) }
        let dataPrefix: [UInt8] = Array("data: ".utf8)
        out.append(contentsOf: dataPrefix)
        var afterCR = false
        for b in data.utf8 {
            if b == LF && afterCR {
                afterCR = false
                continue
            }
            afterCR = b == CR
            if b == CR || b == LF {
                out.append(LF)
                out.append(contentsOf: dataPrefix)
            } else {
                out.append(b)
            }
        }
        out.append(LF)
        out.append(LF)
        return out
    }

    private static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(COLON)
        out.append(SP)
        for b in value.utf8 where b != CR && b != LF && b != 0 { out.append(b) }
        out.append(LF)
    }
}
