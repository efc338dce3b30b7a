/// Validation of client-supplied X-Request-Id values (SPEC §4): only short ids made
/// of safe characters are kept, so they can go into logs and headers unescaped.
public enum RequestID {
    /// 1...128 characters of [A-Za-z0-9._:-] only.
    public static func isSane(_ s: String) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= 128 else { return false }
        return u.allSatisfy { b in
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x3A, 0x2D: return true
            default: return false
            }
        }
    }
}
