import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VerificationServer
import TestSupport

/// Issue 16: `verigate serve` and `verigate gateway` find their call prompts wherever they are
/// started from, or stop. `--prompts` (or `VERIGATE_PROMPTS`), else the first that exists of
/// `<bin>/../share/verigate/prompts` and `./prompts`; a folder that does not exist, none found, or
/// a locale missing a prompt exits 78 naming it — never a silent gateway of missed calls only.
@Suite("verigate finds its prompts from an installed layout, or stops with 78", .timeLimit(.minutes(5)))
struct PromptsLocationTests {
    /// A fresh temporary folder (symbolic links resolved: what the child's getcwd says).
    static func temporaryDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.resolvingSymlinksInPath()
    }

    /// Runs `executable arguments` in `workingDirectory` until it exits (killed after 60 s); its
    /// status and whole output.
    static func run(_ executable: String, _ arguments: [String], in workingDirectory: URL? = nil, environment: [String: String] = [:],
                    name: String) async throws -> (status: Int32, output: String) {
        let process = try await PeerProcess(executable, arguments, name: name, environment: environment, workingDirectory: workingDirectory?.path)
        let pid = process.process.processIdentifier
        let backstop = Task { try await Task.sleep(for: .seconds(60)); kill(pid, SIGKILL) }
        let status = await process.exitStatus()
        backstop.cancel()
        let output = (try? String(contentsOf: process.log, encoding: .utf8)) ?? ""
        await process.stop()
        return (status, output)
    }

    /// The repository's prompts copied to `destination` (which must not exist).
    static func copyPrompts(to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Peers.repository.appendingPathComponent("prompts"), to: destination)
    }

    @Test("a --prompts that does not exist, a VERIGATE_PROMPTS locale missing a prompt, or no prompts found: exit 78 naming the folder or file, before anything listens")
    func missingPromptsStop() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let work = try Self.temporaryDirectory("prompts-missing")
        defer { try? FileManager.default.removeItem(at: work) }
        let serve = ["serve", "--http-address", "127.0.0.1:0", "--sip-address", "127.0.0.1:0", "--data-dir", work.appendingPathComponent("data").path]

        // A relative --prompts is read from the working directory, and named in full.
        let (status, output) = try await Self.run(verigate, serve + ["--prompts", "nowhere"], in: work, name: "prompts-nowhere")
        #expect(status == 78, "\(output)")
        #expect(output.contains("verigate: prompts folder \(work.appendingPathComponent("nowhere").path) (--prompts, VERIGATE_PROMPTS) does not exist or is not a folder"), "\(output)")
        #expect(!output.contains("core.serving"), "the core started before the prompts were checked: \(output)")

        // A locale folder missing one prompt (VERIGATE_PROMPTS, verigate gateway).
        let broken = work.appendingPathComponent("broken")
        try Self.copyPrompts(to: broken)
        try FileManager.default.removeItem(at: broken.appendingPathComponent("zh-TW/again.wav"))
        let (brokenStatus, brokenOutput) = try await Self.run(
            verigate, ["gateway", "--core-socket", work.appendingPathComponent("none.sock").path], in: work, environment: ["VERIGATE_PROMPTS": "broken"],
            name: "prompts-broken")
        #expect(brokenStatus == 78, "\(brokenOutput)")
        #expect(brokenOutput.contains("verigate: prompts folder \(broken.path) (--prompts, VERIGATE_PROMPTS) cannot be used"), "\(brokenOutput)")
        #expect(brokenOutput.contains("\(broken.path)/zh-TW/again.wav is missing or unreadable"), "\(brokenOutput)")

        // No flag, no variable, no ./prompts here and no share/verigate beside this binary: say where it looked.
        let installed = URL(fileURLWithPath: verigate).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/verigate/prompts").standardizedFileURL.path
        if !FileManager.default.fileExists(atPath: installed) {
            let (noneStatus, noneOutput) = try await Self.run(verigate, serve, in: work, name: "prompts-none")
            #expect(noneStatus == 78, "\(noneOutput)")
            #expect(noneOutput.contains("verigate: no call prompts found in \(installed) or ./prompts: give --prompts <folder> (VERIGATE_PROMPTS), or --prompts off"), "\(noneOutput)")
        }
    }

    @Test("a binary in bin/ beside share/verigate/prompts, started elsewhere with no flag, offers the voice channels; its page resources come from share/verigate")
    func installedLayoutFindsPrompts() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let root = try Self.temporaryDirectory("layout")
        defer { try? FileManager.default.removeItem(at: root) }
        let bin = root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        // A copy, not a link: a link resolves to the build folder, as it should.
        try FileManager.default.copyItem(at: URL(fileURLWithPath: verigate).resolvingSymlinksInPath(), to: bin.appendingPathComponent("verigate"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin.appendingPathComponent("verigate").path)
        let share = root.appendingPathComponent("share/verigate")
        try Self.copyPrompts(to: share.appendingPathComponent("prompts"))
        let resources = URL(fileURLWithPath: verigate).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(InstallLayout.resourceBundleName)
        try FileManager.default.copyItem(at: resources, to: share.appendingPathComponent(InstallLayout.resourceBundleName))
        let elsewhere = root.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try await Self.serveInstalled(binary: bin.appendingPathComponent("verigate").path, share: share, workingDirectory: elsewhere,
                                      dataDirectory: root.appendingPathComponent("data"))
    }

    /// Starts `binary serve` in `workingDirectory` with no --prompts and shows that it uses the
    /// installed `share` folder: its log names `share/prompts`, the gateway's hello offers
    /// voice_callin and dtmf_callin, a dtmf_callin verification starts through the API, and
    /// `GET /openapi.yaml` serves `share`'s copy (marked here); then SIGTERM ends it with 0.
    static func serveInstalled(binary: String, share: URL, workingDirectory: URL, dataDirectory: URL) async throws {
        let marker = "# installed copy \(UUID().uuidString)"
        let openapi = share.appendingPathComponent("\(InstallLayout.resourceBundleName)/Resources/openapi.yaml")
        let handle = try FileHandle(forWritingTo: openapi)
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n\(marker)\n".utf8))
        try handle.close()

        // Free ports are chosen before verigate binds them, and other tests run meanwhile: one
        // taken in between (ci31: "Address already in use") is tried again with new ports.
        var server: PeerProcess
        var httpPort = 0
        var attempt = 0
        var attached = false
        repeat {
            attempt += 1
            httpPort = try Peers.freePort()
            let sipPort = try Peers.freePort()
            server = try await PeerProcess(binary, [
                "serve", "--http-address", "127.0.0.1:\(httpPort)", "--sip-address", "127.0.0.1:\(sipPort)", "--data-dir", dataDirectory.path,
            ], name: "serve-installed", workingDirectory: workingDirectory.path)
            let process = server
            attached = try await eventuallyTrue { !process.lines("gateway.hello").isEmpty || !process.process.isRunning }
            if server.process.isRunning || !server.tail().contains("Address already in use") || attempt == 3 { break }
            await server.stop()
        } while true
        func fail() async {
            server.process.signal(SIGKILL)
            await server.stop()
        }
        do {
            let hello = server.lines("gateway.hello").first ?? ""
            #expect(attached && hello.contains("\"dtmf_callin\"") && hello.contains("\"voice_callin\""), "\(server.tail())")
            let prompts = server.lines("gateway.prompts").first ?? ""
            #expect(prompts.contains("directory=\(share.appendingPathComponent("prompts").path)"), "\(server.tail())")
            #expect(prompts.contains("locales=en,zh-TW"), "\(prompts)")

            let apiKey = try await CoreGatewayApartTests.apiKey(server)
            let started = try await CoreGatewayApartTests.start(channel: "dtmf_callin", httpPort: httpPort, apiKey: apiKey, core: server, gateway: server)
            #expect(started["channel"] as? String == "dtmf_callin" && started["system_number"] as? String != nil, "\(started)")

            let (data, response) = try await URLSession.shared.data(for: URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/openapi.yaml")!))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self).contains(marker), "openapi.yaml not read from \(share.path)")
        } catch {
            await fail()
            throw error
        }
        let pid = server.process.processIdentifier
        kill(pid, SIGTERM)
        let backstop = Task { try await Task.sleep(for: .seconds(20)); kill(pid, SIGKILL) }
        let status = await server.exitStatus()
        backstop.cancel()
        #expect(status == 0, "\(server.tail())")
        await server.stop()
    }

    @Test("--prompts off is a gateway of missed calls only, said in the log: missed_call starts, dtmf_callin gets 503 no_gateway")
    func promptsOff() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let work = try Self.temporaryDirectory("prompts-off")
        defer { try? FileManager.default.removeItem(at: work) }
        let httpPort = try Peers.freePort()
        let server = try await PeerProcess(verigate, [
            "serve", "--http-address", "127.0.0.1:\(httpPort)", "--sip-address", "127.0.0.1:\(try Peers.freePort())",
            "--data-dir", work.appendingPathComponent("data").path, "--prompts", "off",
        ], name: "serve-prompts-off", workingDirectory: work.path)
        do {
            let apiKey = try await CoreGatewayApartTests.apiKey(server)
            // The gateway is attached once a missed_call starts.
            _ = try await CoreGatewayApartTests.start(channel: "missed_call", httpPort: httpPort, apiKey: apiKey, core: server, gateway: server)
            #expect(server.lines("gateway.prompts.off").count == 1, "\(server.tail())")
            #expect(server.lines("gateway.hello").first.map { $0.contains("[\"missed_call\"]") } == true, "\(server.tail())")

            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/v1/verifications")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"to":"0975000889","channel":"dtmf_callin"}"#.utf8)
            let (data, response) = try await URLSession.shared.data(for: request)
            let body = String(decoding: data, as: UTF8.self)
            #expect((response as? HTTPURLResponse)?.statusCode == 503 && body.contains("no_gateway"), "\(body)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
