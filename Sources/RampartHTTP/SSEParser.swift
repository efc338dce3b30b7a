// Incremental text/event-stream parser following the WHATWG HTML "Interpreting an
// event stream" rules. Works on bytes (fields are ASCII, data is decoded as UTF-8
// once per event) so it can sit on a proxied stream without re-encoding it.

public struct SSEParser: Sendable {
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Bound on one event's buffered bytes (partial line + data); a larger event is dropped, not buffered.
    public let maxEventBytes: Int
    /// Reconnection time last set by the stream.
    public private(set) var reconnectionTime: Int?
    /// Events dropped because they exceeded `maxEventBytes`.
    public private(set) var droppedEvents = 0

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: [UInt8] = []
    private var lastEventID = ""
    private var retry: Int?
    private var bomMatched = 0
    private var bomDone = false
    private var skipLF = false
    private var lineOverflow = false
    private var eventOverflow = false

    public init() { maxEventBytes = 16 << 20 }
    public init(maxEventBytes: Int) { self.maxEventBytes = maxEventBytes }

    /// Feed any slice of the stream (events may be split across calls at any byte, CRLF/LF/CR line ends, leading BOM once,
    /// comments ":...", multi-line data joined with "\n", field without colon, single leading space after colon stripped,
    /// "retry" only digits, id with NUL ignored, empty data -> no dispatch).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) {
        let n = bytes.count
        var i = 0
        while !bomDone && i < n {
            if bytes[i] == Self.bom[bomMatched] {
                bomMatched += 1
                i += 1
                if bomMatched == 3 { bomDone = true }
            } else {
                // Not a BOM after all: the matched prefix is ordinary line content.
                bomDone = true
                appendToLine(Self.bom[0..<bomMatched])
            }
        }
        while i < n {
            if skipLF {
                skipLF = false
                if bytes[i] == LF {
                    i += 1
                    continue
                }
            }
            var j = bytes.firstLineBreak(from: i, to: n) ?? n
            let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<j])
            if j == n {
                appendToLine(piece)
                break
            }
            if line.isEmpty && !lineOverflow {
                // The bound a line buffered piece by piece meets, so where the stream was cut never matters.
                if piece.count + data.count > maxEventBytes {
                    eventOverflow = true
                } else {
                    processLine(piece, onEvent)
                }
            } else {
                appendToLine(piece)
                var full: [UInt8] = []
                swap(&full, &line)
                if lineOverflow {
                    eventOverflow = true
                    lineOverflow = false
                } else {
                    full.withUnsafeBytes { processLine($0, onEvent) }
                }
                full.removeAll(keepingCapacity: true)
                swap(&full, &line)
            }
            if bytes[j] == CR {
                if j + 1 < n {
                    if bytes[j + 1] == LF { j += 1 }
                } else {
                    skipLF = true
                }
            }
            i = j + 1
        }
    }

    /// Convenience for callers holding an array.
    public mutating func feed(_ bytes: [UInt8], onEvent: (SSEEvent) -> Void) {
        bytes.withUnsafeBytes { feed($0, onEvent: onEvent) }
    }

    private mutating func appendToLine<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if lineOverflow { return }
        if line.count + data.count + bytes.count > maxEventBytes {
            lineOverflow = true
            line.removeAll()
            return
        }
        line.append(contentsOf: bytes)
    }

    private mutating func processLine(_ l: UnsafeRawBufferPointer, _ onEvent: (SSEEvent) -> Void) {
        if l.isEmpty {
            dispatch(onEvent)
            return
        }
        if l[0] == COLON { return }
        var nameEnd = 0
        while nameEnd < l.count && l[nameEnd] != COLON { nameEnd += 1 }
        var valueStart = Swift.min(nameEnd + 1, l.count)
        if valueStart < l.count && l[valueStart] == SP { valueStart += 1 }
        let value = UnsafeRawBufferPointer(rebasing: l[valueStart...])

        if l.equalsExact(0, nameEnd, "data") {
            if eventOverflow || data.count + value.count + 1 > maxEventBytes {
                eventOverflow = true
                data.removeAll()
                return
            }
            if hasData { data.append(LF) }
            data.append(contentsOf: value)
            hasData = true
        } else if l.equalsExact(0, nameEnd, "event") {
            eventType.removeAll(keepingCapacity: true)
            eventType.append(contentsOf: value)
        } else if l.equalsExact(0, nameEnd, "id") {
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if l.equalsExact(0, nameEnd, "retry") {
            if let r = Self.parseDigits(value) {
                retry = r
                reconnectionTime = r
            }
        }
    }

    private mutating func dispatch(_ onEvent: (SSEEvent) -> Void) {
        defer {
            data.removeAll(keepingCapacity: true)
            eventType.removeAll(keepingCapacity: true)
            hasData = false
            retry = nil
            eventOverflow = false
        }
        if eventOverflow {
            droppedEvents += 1
            return
        }
        guard hasData else { return }
        onEvent(SSEEvent(
            event: eventType.isEmpty ? "message" : String(decoding: eventType, as: UTF8.self),
            data: String(decoding: data, as: UTF8.self),
            id: lastEventID.isEmpty ? nil : lastEventID,
            retry: retry
        ))
    }

    /// ASCII digits only (no sign, no space); overflow is ignored like any invalid value.
    private static func parseDigits(_ v: UnsafeRawBufferPointer) -> Int? {
        guard !v.isEmpty else { return nil }
        var n = 0
        for c in v {
            let d = c &- 0x30
            guard d <= 9 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(d))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }
}
