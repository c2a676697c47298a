@main struct VerigateMain { static func main() {} }
