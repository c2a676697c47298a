import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VerificationServer
import TestSupport

/// Issue 16, "Install and run as a service": `make install` (BIN=, PREFIX, DESTDIR) lays out a
/// tree whose binary runs from anywhere on its own prompts and resources; the systemd unit passes
/// `systemd-analyze verify` and `security`; `make deb` packs the tree with Depends, conffile and
/// maintainer scripts, and the package installs and purges with dpkg (as root in CI).
@Suite("make install, the systemd unit and make deb", .serialized, .timeLimit(.minutes(10)))
struct InstallTests {
    /// `make -C <repository> arguments`: status and output.
    static func make(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await PromptsLocationTests.run("/usr/bin/make", ["--no-print-directory", "-C", Peers.repository.path] + arguments, environment: environment, name: "make")
    }

    static func isExecutable(_ url: URL) -> Bool { FileManager.default.isExecutableFile(atPath: url.path) }
    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    @Test("make install DESTDIR= BIN=: the tree (binary, prompts, resources, doc, unit, env file kept once written), the installed binary serves from its share, make uninstall keeps the settings")
    func installTree() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/make", package: "make") else { return }
        let root = try PromptsLocationTests.temporaryDirectory("install")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = root.appendingPathComponent("dest")
        let install = ["install", "DESTDIR=\(destination.path)", "BIN=\(verigate)"]

        let (status, output) = try await Self.make(install)
        #expect(status == 0, "\(output)")
        let prefix = destination.appendingPathComponent("usr/local")
        let share = prefix.appendingPathComponent("share/verigate")
        #expect(Self.isExecutable(prefix.appendingPathComponent("bin/verigate")))
        for locale in ["en", "zh-TW"] {
            for prompt in ["0", "9", "code-is", "press-key", "goodbye"] {
                #expect(Self.exists(share.appendingPathComponent("prompts/\(locale)/\(prompt).wav")), "\(locale)/\(prompt).wav")
            }
        }
        #expect(Self.exists(share.appendingPathComponent("\(InstallLayout.resourceBundleName)/Resources/openapi.yaml")))
        #expect(Self.exists(share.appendingPathComponent("\(InstallLayout.resourceBundleName)/Resources/page/page.js")))
        #expect(Self.exists(prefix.appendingPathComponent("share/doc/verigate/sip.conf.example")))
        let unit = try String(contentsOf: prefix.appendingPathComponent("lib/systemd/system/verigate.service"), encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/local/bin/verigate serve\n") && unit.contains("\nEnvironmentFile=-/etc/default/verigate\n"), "\(unit)")
        #expect(!unit.contains("@BINDIR@") && !unit.contains("@SYSCONFDIR@"), "a placeholder left: \(unit)")
        let environmentFile = destination.appendingPathComponent("etc/default/verigate")
        let attributes = try FileManager.default.attributesOfItem(atPath: environmentFile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // A second install keeps the operator's settings.
        let settings = "VERIGATE_MODE=production\n"
        try Data(settings.utf8).write(to: environmentFile)
        let (again, againOutput) = try await Self.make(install)
        #expect(again == 0 && againOutput.contains("kept \(environmentFile.path)"), "\(againOutput)")
        #expect(try String(contentsOf: environmentFile, encoding: .utf8) == settings)

        // The installed binary, from an empty working directory: prompts and resources from its share.
        let elsewhere = root.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try await PromptsLocationTests.serveInstalled(binary: prefix.appendingPathComponent("bin/verigate").path, share: share, workingDirectory: elsewhere,
                                                      dataDirectory: root.appendingPathComponent("data"))

        let (removed, removedOutput) = try await Self.make(["uninstall", "DESTDIR=\(destination.path)"])
        #expect(removed == 0, "\(removedOutput)")
        #expect(!Self.exists(prefix.appendingPathComponent("bin/verigate")) && !Self.exists(share)
                && !Self.exists(prefix.appendingPathComponent("lib/systemd/system/verigate.service")))
        #expect(Self.exists(environmentFile), "make uninstall removed the settings")

        // Nothing to install: a clear stop, not a half tree.
        let (missing, missingOutput) = try await Self.make(["install", "DESTDIR=\(root.appendingPathComponent("none").path)", "BIN=/nonexistent/verigate"])
        #expect(missing != 0 && missingOutput.contains("make install: no /nonexistent/verigate: run 'make release' first"), "\(missingOutput)")
        #expect(!Self.exists(root.appendingPathComponent("none")))
    }

    /// Lines of `systemd-analyze` output about the unit (other units on the machine may warn too).
    static func unitLines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains("verigate") }
    }

    @Test("the installed unit passes systemd-analyze verify (which does catch a bad key) and rates 2.0 or better in systemd-analyze security")
    func unitVerifies() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/make", package: "make"),
              Peers.available("/usr/bin/systemd-analyze", package: "systemd") else { return }
        let root = try PromptsLocationTests.temporaryDirectory("unit")
        defer { try? FileManager.default.removeItem(at: root) }
        // No DESTDIR: the unit's ExecStart names the installed binary, which verify checks exists.
        let (status, output) = try await Self.make(["install", "PREFIX=\(root.path)/usr", "SYSCONFDIR=\(root.path)/etc", "BIN=\(verigate)"])
        #expect(status == 0, "\(output)")
        let unit = root.appendingPathComponent("usr/lib/systemd/system/verigate.service")

        let (verified, verifyOutput) = try await PromptsLocationTests.run("/usr/bin/systemd-analyze", ["verify", unit.path], name: "verify")
        #expect(verified == 0 && Self.unitLines(verifyOutput).isEmpty, "\(verifyOutput)")

        // The check can fail: the same unit with a key systemd does not know.
        let text = try String(contentsOf: unit, encoding: .utf8)
        let bad = root.appendingPathComponent("bad/verigate.service")
        try FileManager.default.createDirectory(at: bad.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=yes\nProtectHomes=yes").utf8).write(to: bad)
        let (_, badOutput) = try await PromptsLocationTests.run("/usr/bin/systemd-analyze", ["verify", bad.path], name: "verify-bad")
        #expect(Self.unitLines(badOutput).contains { $0.contains("Unknown key") && $0.contains("ProtectHomes") }, "\(badOutput)")

        // Exposure 0.0 (locked down) to 10.0: --threshold=20 fails above 2.0.
        let (secure, securityOutput) = try await PromptsLocationTests.run(
            "/usr/bin/systemd-analyze", ["security", "--offline=yes", "--threshold=20", "--no-pager", unit.path], name: "security")
        #expect(secure == 0 && securityOutput.contains("Overall exposure level for verigate.service"), "\(securityOutput)")
        for setting in ["✓ NoNewPrivileges=", "✓ ProtectSystem=", "✓ ProtectHome=", "✓ PrivateTmp=", "✓ User=/DynamicUser=", "✓ AmbientCapabilities=",
                        "✓ CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)", "✓ RestrictAddressFamilies=~AF_PACKET"] {
            #expect(securityOutput.contains(setting), "\(setting) is not in effect:\n\(securityOutput)")
        }
    }

    /// The names in a `.deb`'s listing (`dpkg-deb --contents`), without the leading `.`.
    static func contents(_ listing: String) -> Set<String> {
        Set(listing.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first.map { String($0.dropFirst()) }
        })
    }

    @Test("make deb BIN=: a .deb with the binary, prompts, resources, unit, doc and conffile, Depends on the libraries it links; its binary runs; as root in CI it installs with dpkg -i and purges")
    func debianPackage() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/make", package: "make"),
              Peers.available("/usr/bin/dpkg-deb", package: "dpkg"), Peers.available("/usr/bin/objdump", package: "binutils") else { return }
        let root = try PromptsLocationTests.temporaryDirectory("deb")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        let deb = ["deb", "BIN=\(verigate)", "DEB_DIR=\(out.path)", "DEB_COMPRESSION=none"]

        // A binary linking the toolchain's Swift runtime (a debug build) makes no package unless told.
        let (_, needed) = try await PromptsLocationTests.run("/usr/bin/objdump", ["-p", verigate], name: "objdump")
        if needed.contains("libswiftCore.so") {
            let (refused, refusedOutput) = try await Self.make(deb)
            #expect(refused != 0 && refusedOutput.contains("no Debian package holds:") && refusedOutput.contains("libswiftCore.so"), "\(refusedOutput)")
        }
        let (status, output) = try await Self.make(deb, environment: ["DEB_ALLOW_UNPACKAGED": "1"])
        #expect(status == 0, "\(output)")
        let (_, architecture) = try await PromptsLocationTests.run("/usr/bin/dpkg", ["--print-architecture"], name: "arch")
        let arch = architecture.trimmingCharacters(in: .whitespacesAndNewlines)
        let packages = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        let name = try #require(packages.first { $0.hasPrefix("verigate_") && $0.hasSuffix("_\(arch).deb") }, "\(packages)\n\(output)")
        let package = out.appendingPathComponent(name).path
        #expect(!packages.contains("root"), "the staging tree is left: \(packages)")

        let (_, info) = try await PromptsLocationTests.run("/usr/bin/dpkg-deb", ["--info", package], name: "deb-info")
        #expect(info.contains("Package: verigate") && info.contains("Architecture: \(arch)"), "\(info)")
        let depends = info.split(separator: "\n").first { $0.hasPrefix(" Depends: ") }.map(String.init) ?? ""
        for library in ["libopus0", "libphonenumber8", "libc-ares2", "libssl3", "libc6"] {
            #expect(depends.contains(library), "\(library) missing: \(depends)")
        }
        let (_, conffiles) = try await PromptsLocationTests.run("/usr/bin/dpkg-deb", ["--info", package, "conffiles"], name: "deb-conffiles")
        #expect(conffiles.trimmingCharacters(in: .whitespacesAndNewlines) == "/etc/default/verigate", "\(conffiles)")
        let (_, postinst) = try await PromptsLocationTests.run("/usr/bin/dpkg-deb", ["--info", package, "postinst"], name: "deb-postinst")
        #expect(postinst.contains("deb-systemd-helper enable verigate.service"), "\(postinst)")

        let (_, listing) = try await PromptsLocationTests.run("/usr/bin/dpkg-deb", ["--contents", package], name: "deb-contents")
        let files = Self.contents(listing)
        for file in ["/usr/bin/verigate", "/usr/share/verigate/prompts/en/0.wav", "/usr/share/verigate/prompts/zh-TW/code-is.wav",
                     "/usr/share/verigate/\(InstallLayout.resourceBundleName)/Resources/openapi.yaml", "/usr/lib/systemd/system/verigate.service",
                     "/usr/share/doc/verigate/sip.conf.example", "/etc/default/verigate"] {
            #expect(files.contains(file), "\(file) is not in the package:\n\(listing)")
        }
        #expect(listing.split(separator: "\n").allSatisfy { $0.contains(" root/root ") }, "\(listing)")

        // Unpacked anywhere, its binary starts.
        let unpacked = root.appendingPathComponent("unpacked")
        let (extracted, extractOutput) = try await PromptsLocationTests.run("/usr/bin/dpkg-deb", ["-x", package, unpacked.path], name: "deb-x")
        #expect(extracted == 0, "\(extractOutput)")
        let (help, helpOutput) = try await PromptsLocationTests.run(unpacked.appendingPathComponent("usr/bin/verigate").path, ["--help"], name: "deb-help")
        #expect(help == 0 && helpOutput.contains("serve"), "\(helpOutput)")

        try await Self.installWithDpkg(package)
    }

    /// As root in CI (a throwaway machine): `dpkg -i`, the installed binary runs, the unit is
    /// enabled and verifies, it serves where systemd runs; then `dpkg --purge` leaves nothing.
    /// Elsewhere (a developer's machine) the system's packages are not touched.
    static func installWithDpkg(_ package: String) async throws {
        guard Peers.missingIsFailure, getuid() == 0 else { return }
        let (installed, _) = try await PromptsLocationTests.run("/usr/bin/dpkg", ["-s", "verigate"], name: "dpkg-s")
        let settings = URL(fileURLWithPath: "/etc/default/verigate")
        guard installed != 0, !Self.exists(settings) else {
            Issue.record("verigate is installed on this machine already (dpkg -s or /etc/default/verigate): not installing the test package over it")
            return
        }
        // Free ports in the settings the package keeps (--force-confold), in case systemd starts it.
        let httpPort = try Peers.freePort()
        try Data("VERIGATE_HTTP_ADDRESS=127.0.0.1:\(httpPort)\nVERIGATE_SIP_ADDRESS=127.0.0.1:\(try Peers.freePort())\n".utf8).write(to: settings)
        let (status, output) = try await PromptsLocationTests.run("/usr/bin/dpkg", ["-i", "--force-confold", package], name: "dpkg-i")
        #expect(status == 0, "\(output)")
        let (help, helpOutput) = try await PromptsLocationTests.run("/usr/bin/verigate", ["--help"], name: "installed-help")
        #expect(help == 0 && helpOutput.contains("serve"), "\(helpOutput)")
        let wants = "/etc/systemd/system/multi-user.target.wants/verigate.service"
        // deb-systemd-helper links /lib/systemd/system/… where /lib is /usr/lib (merged /usr).
        let enabled = try? FileManager.default.destinationOfSymbolicLink(atPath: wants)
        #expect(enabled?.hasSuffix("lib/systemd/system/verigate.service") == true && Self.exists(URL(fileURLWithPath: wants)), "not enabled: \(enabled ?? "no link")")
        if Self.isExecutable(URL(fileURLWithPath: "/usr/bin/systemd-analyze")) {
            let (verified, verifyOutput) = try await PromptsLocationTests.run("/usr/bin/systemd-analyze", ["verify", "/usr/lib/systemd/system/verigate.service"], name: "verify-installed")
            #expect(verified == 0 && Self.unitLines(verifyOutput).isEmpty, "\(verifyOutput)")
        }
        if Self.exists(URL(fileURLWithPath: "/run/systemd/system")) {
            // systemd runs: postinst started the service, unprivileged and hardened, on the ports above.
            let serving = try await Peers.servesHealthz("http://127.0.0.1:\(httpPort)", within: .seconds(60))
            let (_, journal) = try await PromptsLocationTests.run("/usr/bin/journalctl", ["-u", "verigate", "--no-pager", "-n", "40"], name: "journal")
            #expect(serving, "verigate.service did not serve /healthz:\n\(journal)")
        }
        let (purged, purgeOutput) = try await PromptsLocationTests.run("/usr/bin/dpkg", ["--purge", "verigate"], name: "dpkg-purge")
        #expect(purged == 0, "\(purgeOutput)")
        #expect(!Self.exists(URL(fileURLWithPath: "/usr/bin/verigate")) && !Self.exists(settings)
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: wants)) == nil, "dpkg --purge left files")
    }
}
