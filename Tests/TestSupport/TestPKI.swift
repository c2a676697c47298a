import Foundation

/// A CA and certificates it signs (for SIP over TLS tests), made with the openssl CLI (always installed) in a temp directory.
public struct TestPKI: Sendable {
    /// The folder holding the files.
    public let directory: String
    /// The CA certificate (PEM).
    public var caFile: String { directory + "/ca.pem" }

    /// A new CA named `name` (another CA than the default for the "unknown CA" attacks).
    public static func make(name: String = "Verigate Test CA") async throws -> TestPKI {
        let directory = NSTemporaryDirectory() + "verigate-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pki = TestPKI(directory: directory)
        try await pki.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", directory + "/ca.key",
            "-out", directory + "/ca.pem", "-subj", "/CN=\(name)", "-days", "2",
        ])
        return pki
    }

    /// A certificate signed by the CA with `sans` (openssl syntax: `DNS:gw.example.net,IP:127.0.0.1`);
    /// returns the certificate and key files.
    public func leaf(_ file: String, sans: String) async throws -> (certificate: String, key: String) {
        let certificate = "\(directory)/\(file).pem", key = "\(directory)/\(file).key"
        try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
            "-subj", "/CN=\(file)", "-days", "2", "-CA", caFile, "-CAkey", directory + "/ca.key",
            "-addext", "subjectAltName=\(sans)", "-addext", "basicConstraints=critical,CA:FALSE",
        ])
        return (certificate, key)
    }

    private func openssl(_ arguments: [String]) async throws {
        let process = try await ChildProcess("/usr/bin/openssl", arguments)
        let status = await process.exitStatus()
        guard status == 0 else { throw ChildProcessError.notStarted("openssl \(arguments.first ?? "") exited with \(status)") }
    }
}

