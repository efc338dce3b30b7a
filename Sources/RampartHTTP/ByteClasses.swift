// Byte classification for HTTP/1.1 grammar (RFC 9110 / RFC 9112).
// Classes are 128-bit masks split in two UInt64 literals so lookups are branch-light
// and need no lazily initialised global table.

let CR: UInt8 = 0x0D
let LF: UInt8 = 0x0A
let SP: UInt8 = 0x20
let HTAB: UInt8 = 0x09
let COLON: UInt8 = 0x3A

@usableFromInline enum ByteClass {
    /// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA (RFC 9110 §5.6.2).
    static let tcharLow: UInt64 = 0x03ff_6cfa_0000_0000
    static let tcharHigh: UInt64 = 0x57ff_ffff_c7ff_fffe
    /// Bytes allowed in a Host value: unreserved, sub-delims, '%', ':', '[', ']' (RFC 3986 authority without userinfo).
    static let hostLow: UInt64 = 0x2fff_7ff2_0000_0000
    static let hostHigh: UInt64 = 0x47ff_fffe_afff_fffe

    @inline(__always)
    static func inMask(_ b: UInt8, _ low: UInt64, _ high: UInt64) -> Bool {
        if b < 64 { return (low >> UInt64(b)) & 1 != 0 }
        if b < 128 { return (high >> UInt64(b &- 64)) & 1 != 0 }
        return false
    }

    /// The tchar set again as a map of the 128 ASCII bytes ('x' = tchar), read by index: a
    /// header name is scanned a byte at a time, and a load beats two range tests and a shift.
    /// A literal, so no lazily initialised global (`ByteClassTests` pins it to the masks).
    static let tcharMap: StaticString =
        ".................................x.xxxxx..xx.xx.xxxxxxxxxx.......xxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxxx.x.x."

    @inline(__always) static func isTChar(_ b: UInt8) -> Bool { b < 128 && tcharMap.utf8Start[Int(b)] == 0x78 }
    @inline(__always) static func isHostChar(_ b: UInt8) -> Bool { inMask(b, hostLow, hostHigh) }
    @inline(__always) static func isOWS(_ b: UInt8) -> Bool { b == SP || b == HTAB }

    /// field-vchar / SP / HTAB / obs-text: every byte except CTLs (other than HTAB) and DEL.
    @inline(__always) static func isFieldValueByte(_ b: UInt8) -> Bool {
        (b >= 0x20 && b != 0x7F) || b == HTAB
    }

    /// A whole name is a token, a whole value safe on the wire (no CR, LF, other CTL or DEL): the
    /// checks behind a field marked checked, whoever marks it.
    @usableFromInline static func isToken(_ name: UnsafeBufferPointer<UInt8>) -> Bool { !name.isEmpty && name.allSatisfy(isTChar) }
    @usableFromInline static func isFieldValue(_ value: UnsafeBufferPointer<UInt8>) -> Bool { value.allSatisfy(isFieldValueByte) }

    /// Visible ASCII except '#': what an origin-form target may contain unencoded.
    @inline(__always) static func isTargetByte(_ b: UInt8) -> Bool {
        b >= 0x21 && b <= 0x7E && b != 0x23
    }

    /// Value of a hex digit, or nil: only [0-9A-Fa-f], never "0x", signs or separators.
    @inline(__always) static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b &- 0x30)
        case 0x41...0x46: return Int(b &- 0x37)
        case 0x61...0x66: return Int(b &- 0x57)
        default: return nil
        }
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
    }
}
