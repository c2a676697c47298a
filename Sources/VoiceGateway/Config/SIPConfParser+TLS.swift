// The SIP over TLS keys of [general] (README "SIP over TLS", sip.conf.example): the listener, our
// certificate and key, the CAs we trust, client certificates, the handshake timeout, and the
// per-IP connection cap the TCP listener shares. The files are read at start, so a bad one is
// refused with its line and the reason.

import NIOCore

extension SIPConfParser {
    /// One TLS key of [general].
    mutating func applyTLS(_ key: String, _ value: String, _ line: Int, firstOfList: Bool) throws(SIPConfError) {
        var tls = conf.tls ?? SIPTLSSettings(certificateFile: "", privateKeyFile: "")
        switch key {
        case "tls_bind":
            if firstOfList { conf.tlsBind = [] }
            for item in try items(value, line) {
                // RFC 3261 §19.1.2: 5061 is the default port of SIP over TLS.
                let address = try socketAddress(item, line, defaultPort: 5061)
                guard !conf.tlsBind.contains(address) else { throw error(.duplicate, line, "tls_bind \(item) listed twice") }
                conf.tlsBind.append(address)
            }
        case "tls_certificate": tls.certificateFile = try path(value, line, key: key)
        case "tls_private_key": tls.privateKeyFile = try path(value, line, key: key)
        case "tls_ca_file": tls.caFile = value.isEmpty ? nil : try path(value, line, key: key)
        case "tls_require_client_certificate": tls.requireClientCertificate = try bool(value, line, key: key)
        case "tls_handshake_timeout": tls.handshakeTimeout = try duration(value, line, key: key, in: .milliseconds(100)...(.seconds(120)))
        case "max_connections_per_ip": conf.maxConnectionsPerIP = try integer(value, line, key: key, in: 1...1_000_000)
        default: break
        }
        if key != "tls_bind", key != "max_connections_per_ip" { conf.tls = tls }
    }

    /// After [general]: a TLS listener has a certificate and key, TLS settings have a listener, and
    /// the files make a TLS context (else the error names the key's line and why).
    func checkTLS(seen: [String: Int], section: Section) throws(SIPConfError) {
        guard let tls = conf.tls else {
            guard conf.tlsBind.isEmpty else {
                throw error(.missingKey, seen["tls_bind"] ?? section.line, "tls_bind needs tls_certificate and tls_private_key")
            }
            return
        }
        guard !conf.tlsBind.isEmpty else {
            let first = seen.filter { $0.key.hasPrefix("tls_") }.values.min() ?? section.line
            throw error(.missingKey, first, "TLS settings without a listener: add tls_bind (e.g. tls_bind = 0.0.0.0:5061)")
        }
        guard !tls.certificateFile.isEmpty else { throw error(.missingKey, seen["tls_bind"] ?? section.line, "tls_bind needs tls_certificate") }
        guard !tls.privateKeyFile.isEmpty else { throw error(.missingKey, seen["tls_certificate"] ?? section.line, "tls_certificate needs tls_private_key") }
        do {
            try tls.validate()
        } catch {
            let line = seen[error.setting] ?? seen["tls_certificate"] ?? section.line
            throw self.error(.badValue, line, "\(error)")
        }
    }

    /// A file path; a relative one is taken from the directory of sip.conf.
    private func path(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> String {
        guard !value.isEmpty, !value.contains("\0") else { throw error(.badValue, line, "\(key) must name a PEM file") }
        if value.hasPrefix("/") { return value }
        guard let slash = file.lastIndex(of: "/") else { return value }
        return String(file[...slash]) + value
    }
}
