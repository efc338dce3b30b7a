/// Fake "model output": deterministic prose split into streaming deltas.
///
/// Why deterministic: the same chapterId or prompt gives the same text, so a test can compare what
/// Rampart saved with what the stream carried, and a demo looks the same on every run.
enum TextGenerator {
    private static let sentences = [
        "The lighthouse keeper had not spoken to anyone in eleven days.",
        "Rain drummed on the lantern room glass like impatient fingers.",
        "Mara unfolded the letter again, although she knew every word by heart.",
        "Somewhere below, the tide was turning, dragging the kelp back toward the reef.",
        "She lit the lamp at dusk, exactly as her father had taught her.",
        "A ship's bell answered from the fog, much closer than any ship should be.",
        "The logbook's last entry was written in a hand she did not recognise.",
        "By midnight the wind had dropped and the silence felt like a held breath.",
        "She took the brass key from its hook and went down the spiral stairs.",
        "The door to the cellar, sealed for thirty years, stood slightly open.",
        "Cold air rose to meet her, smelling of salt, iron and old paper.",
        "On the table lay a map of the coast with one cove circled in red ink.",
        "Outside, a lantern moved along the cliff path where no path had ever been.",
        "Mara counted the beats of the great lamp and waited for the morning.",
    ]

    /// `pieces` text deltas that concatenate to one passage; each piece after the first starts with a space.
    static func deltas(seed: String, pieces: Int, title: String? = nil) -> [String] {
        let count = max(1, pieces)
        var words: [Substring] = []
        if let title { words += title.split(separator: " ") }
        var index = Int(fnv1a(seed) % UInt64(sentences.count))
        while words.count < max(count * 5, 30) {
            words += sentences[index % sentences.count].split(separator: " ")
            index += 1
        }
        return (0..<count).map { i in
            let slice = words[(i * words.count / count)..<((i + 1) * words.count / count)]
            return (i == 0 ? "" : " ") + slice.joined(separator: " ")
        }
    }

    /// Rough token estimate: 4 bytes per token, at least 1.
    static func tokens(bytes: Int) -> Int { max(1, (bytes + 3) / 4) }

    /// A random-looking id suffix such as the providers use (`msg_…`, `chatcmpl-…`).
    static func randomID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<24).map { _ in alphabet.randomElement()! })
    }

    /// Stable across processes, unlike `hashValue`.
    private static func fnv1a(_ s: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in s.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
