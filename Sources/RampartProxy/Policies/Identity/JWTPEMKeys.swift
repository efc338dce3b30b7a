import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL
import Foundation

/// Public keys from a PEM file: any number of `PUBLIC KEY`, `RSA PUBLIC KEY` and `CERTIFICATE`
/// blocks, as identity providers publish them. Anything else (notably a private key) is refused.
enum JWTPEMKeys {
    package static func load(file: String) throws(JWTSetupError) -> [JWTKey] {
        let origin = "identity.jwt.public_keys_file \(file.jwtQuoted)"
        guard let data = FileManager.default.contents(atPath: file) else { throw JWTSetupError("\(origin) cannot be read") }
        let blocks = try pemBlocks(Array(data), origin: origin)
        guard !blocks.isEmpty else { throw JWTSetupError("\(origin) holds no PEM block (expected \"-----BEGIN PUBLIC KEY-----\")") }
        var keys: [JWTKey] = []
        for (index, block) in blocks.enumerated() {
            let blockOrigin = blocks.count == 1 ? origin : "\(origin) block \(index + 1)"
            keys.append(try decode(block, origin: blockOrigin))
        }
        return keys
    }

    /// Splits PEM text into (label, full block text) pairs so each block is decoded on its own.
    static func pemBlocks(_ bytes: [UInt8], origin: String) throws(JWTSetupError) -> [(label: String, text: [UInt8])] {
        let text = String(decoding: bytes, as: UTF8.self)
        var blocks: [(label: String, text: [UInt8])] = []
        var rest = text[...]
        while let begin = rest.range(of: "-----BEGIN ") {
            let afterBegin = rest[begin.upperBound...]
            guard let labelEnd = afterBegin.range(of: "-----") else { throw JWTSetupError("\(origin): unterminated PEM header") }
            let label = String(afterBegin[..<labelEnd.lowerBound])
            let endMarker = "-----END \(label)-----"
            guard let end = afterBegin.range(of: endMarker) else { throw JWTSetupError("\(origin): \"-----BEGIN \(label)-----\" has no matching END line") }
            blocks.append((label, Array(text[begin.lowerBound..<end.upperBound].utf8) + [0x0A]))
            rest = afterBegin[end.upperBound...]
        }
        return blocks
    }

    private static func decode(_ block: (label: String, text: [UInt8]), origin: String) throws(JWTSetupError) -> JWTKey {
        let bio = block.text.withUnsafeBufferPointer { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw JWTSetupError("\(origin): out of memory") }
        defer { BIO_free(bio); ERR_clear_error() }
        let pkey: OpaquePointer?
        switch block.label {
        case "PUBLIC KEY":
            pkey = PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        case "RSA PUBLIC KEY":
            pkey = decodePKCS1(bio)
        case "CERTIFICATE":
            guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else { throw JWTSetupError("\(origin): invalid CERTIFICATE") }
            defer { X509_free(cert) }
            pkey = X509_get_pubkey(cert)
        case let label where label.contains("PRIVATE KEY"):
            throw JWTSetupError("\(origin) holds a \(label); give the public key only (openssl pkey -pubout)")
        default:
            throw JWTSetupError("\(origin): unsupported PEM block \"\(block.label)\" (expected PUBLIC KEY or CERTIFICATE)")
        }
        guard let pkey else { throw JWTSetupError("\(origin): invalid \(block.label)") }
        return try JWTKey.typed(pkey, origin: origin)
    }

    /// PKCS#1 `RSA PUBLIC KEY` through the provider decoder (PEM_read_bio_RSAPublicKey is deprecated);
    /// the decoder context keeps the type-name pointers, hence static C strings.
    private static func decodePKCS1(_ bio: OpaquePointer) -> OpaquePointer? {
        var pkey: OpaquePointer?
        guard let dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, JWTKeyBuilder.cString("PEM"), nil, JWTKeyBuilder.cString("RSA"),
                                                       rampart_evp_pkey_public_key_selection(), nil, nil) else { return nil }
        defer { OSSL_DECODER_CTX_free(dctx) }
        guard OSSL_DECODER_from_bio(dctx, bio) == 1 else {
            EVP_PKEY_free(pkey)
            return nil
        }
        return pkey
    }
}
