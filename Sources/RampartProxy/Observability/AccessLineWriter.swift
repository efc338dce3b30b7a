import RampartHTTP

/// Writes one access line through a pointer into room reserved for the whole line: one capacity
/// check per line instead of one `Array.append` per piece (about 60 pieces, some 100
/// instructions each). `AccessLogFormatTests` pins its numbers and whole lines.
struct AccessLineWriter {
    private(set) var p: UnsafeMutablePointer<UInt8>

    init(at p: UnsafeMutablePointer<UInt8>) { self.p = p }

    /// Room a line can need: the keys and punctuation, 6 bytes per string byte (`\u00XX`), and
    /// 24 per number.
    static func bound(strings: Int, numbers: Int) -> Int { 512 + strings * 6 + numbers * 24 }

    mutating func lit(_ s: StaticString) {
        p.update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        p += s.utf8CodeUnitCount
    }

    mutating func byte(_ b: UInt8) { p[0] = b; p += 1 }

    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        if let base = b.baseAddress { p.update(from: base, count: b.count) }
        p += b.count
    }

    /// A JSON string, quoted and escaped (`JSONValue.writeString`); `null` for nil.
    mutating func string(_ s: String?) {
        guard let s else { lit("null"); return }
        p = JSONValue.writeString(s, at: p)
    }

    /// Decimal digits; `null` for nil.
    mutating func int(_ v: Int?) {
        guard let v else { lit("null"); return }
        if v < 0 { byte(UInt8(ascii: "-")) }
        p = writeDecimal(v.magnitude, at: p)
    }

    /// Milliseconds rounded to the microsecond, as `AccessLog.ms` prints them ("1.5", "12.0",
    /// "0.004"); `null` for nil or a value that is not a number.
    mutating func ms(_ v: Double?) {
        guard let v else { lit("null"); return }
        // Not a number, or too large for the digits below: as the String formatting prints it.
        guard v.isFinite, abs(v) < 1e12 else { HTTPHeaders.withBytes(AccessLog.ms(v)) { bytes($0) }; return }
        let micros = Int((v * 1000).rounded())
        if micros < 0 { byte(UInt8(ascii: "-")) }
        int(Int(micros.magnitude / 1000))
        byte(UInt8(ascii: "."))
        var frac = Int(micros.magnitude % 1000)
        guard frac != 0 else { byte(UInt8(ascii: "0")); return }
        var scale = 100
        while frac % 10 == 0 { frac /= 10; scale /= 10 }
        while scale > 0 { byte(UInt8(ascii: "0") + UInt8(frac / scale % 10)); scale /= 10 }
    }
}
