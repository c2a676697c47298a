import Verification

/// The texts of the hosted page in one locale ("en" or "zh-TW"). Placeholders `{number}`,
/// `{system}`, `{n}` and `{s}` are filled by `PageStrings.fill`.
struct PageStrings: Sendable {
    let locale: String
    let table: [String: String]

    subscript(_ key: String) -> String { table[key] ?? PageStrings.en[key] ?? key }

    /// `key` with its placeholders replaced.
    func fill(_ key: String, _ values: [String: String]) -> String {
        values.reduce(self[key]) { text, pair in text.replacingOccurrences(of: "{\(pair.key)}", with: pair.value) }
    }

    /// The strings of a supported locale ("zh-TW" or English).
    static func forLocale(_ locale: String) -> PageStrings {
        locale == "zh-TW" ? PageStrings(locale: "zh-TW", table: zhTW) : PageStrings(locale: "en", table: en)
    }

    /// The locale for a request: `lang` query first, then Accept-Language (RFC 9110 §12.5.4,
    /// highest q first), then the policy's default.
    static func negotiate(query: String?, acceptLanguage: String?, policy: VerificationPolicy) -> String {
        if let query, let match = match(query, supported: policy.supportedLocales) { return match }
        let ranges = (acceptLanguage ?? "").split(separator: ",").enumerated().compactMap { index, item -> (String, Double, Int)? in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first, !tag.isEmpty, tag != "*" else { return nil }
            var q = 1.0
            for p in parts.dropFirst() where p.hasPrefix("q=") { q = Double(p.dropFirst(2)) ?? 0 }
            return q > 0 ? (tag, q, index) : nil
        }
        for (tag, _, _) in ranges.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 < $1.2 }) {
            if let m = match(tag, supported: policy.supportedLocales) { return m }
        }
        return policy.defaultLocale
    }

    /// The supported locale for one language tag, or nil ("zh-Hant-TW", "zh" → "zh-TW"; "en-GB" → "en").
    static func match(_ tag: String, supported: [String]) -> String? {
        let lower = tag.lowercased()
        if let exact = supported.first(where: { $0.lowercased() == lower }) { return exact }
        let language = lower.split(separator: "-").first.map(String.init) ?? lower
        if language == "zh" { return supported.first { $0.lowercased().hasPrefix("zh") } }
        return supported.first { $0.lowercased().split(separator: "-").first.map(String.init) == language }
    }

    static let en: [String: String] = [
        "lang_name": "English",
        "title": "Verify your phone number",
        "number_label": "Mobile number",
        "number_hint": "For example 0912 345 678, or +886 912 345 678",
        "method_label": "How do you want to verify?",
        "start_button": "Continue",
        "method_sms": "Text me a code (SMS)",
        "method_voice_call": "Call me and read a code",
        "method_voice_callin": "I call you and hear a code",
        "method_missed_call": "I call you and hang up (free)",
        "method_dtmf_callout": "Call me and I key the code shown",
        "method_dtmf_callin": "I call you and key the code shown",
        "do_sms": "We sent a code by SMS to {number}. Type it below.",
        "do_voice_call": "We are calling {number}. Listen to the code and type it below.",
        "do_voice_callin": "From {number}, call the number below. A voice reads your code; type it below.",
        "do_missed_call": "From {number}, call the number below and hang up after one ring. You do not need to wait for an answer.",
        "do_dtmf_callout": "We will call {number}. When asked, key this code on the phone:",
        "do_dtmf_callin": "From {number}, call the number below and, when asked, key this code:",
        "call_link": "Call {system}",
        "code_to_key": "Code to key",
        "code_label": "Code",
        "check_button": "Verify",
        "expires_in": "Time left",
        "resend_button": "Send again",
        "switch_label": "Use another method",
        "switch_button": "Switch",
        "waiting": "Waiting for you…",
        "verified": "Verified. {number} is your number.",
        "continue": "Continue",
        "wrong_code": "That code is wrong. Tries left: {n}.",
        "max_attempts_reached": "Too many wrong codes. Please start again.",
        "expired": "The time is up and the code has expired. Please start again.",
        "canceled": "This verification was canceled. Please start again.",
        "failed": "The code could not be delivered. Please start again or use another method.",
        "restart_button": "Start again",
        "wait": "Too many tries. Please wait {s} seconds before trying again.",
        "invalid_number": "That is not a valid phone number.",
        "country_not_allowed": "Numbers of this country cannot be verified here.",
        "number_cannot_receive_sms": "This number cannot receive SMS. Choose another method.",
        "number_type_not_allowed": "This kind of number cannot be verified this way. Choose another method or number.",
        "channel_disabled": "That method is not available.",
        "no_gateway": "Calls are not available right now. Choose another method.",
        "invalid_code": "Type the digits of the code.",
        "error": "Something went wrong. Please try again.",
        "invalid_link": "This link is not valid or has expired.",
        "outbox_heading": "Demo SMS outbox",
        "outbox_note": "Demo mode: no SMS gateway is needed; the messages sent to this number appear here.",
        "outbox_empty": "No message yet.",
        "status_label": "Status",
        "reconnecting": "Connection lost; reconnecting…",
        "time_up": "Time is up.",
        "language": "Language",
    ]

    static let zhTW: [String: String] = [
        "lang_name": "中文",
        "title": "驗證您的手機號碼",
        "number_label": "手機號碼",
        "number_hint": "例如 0912 345 678 或 +886 912 345 678",
        "method_label": "您想用哪種方式驗證？",
        "start_button": "繼續",
        "method_sms": "傳簡訊驗證碼給我",
        "method_voice_call": "打電話給我並唸出驗證碼",
        "method_voice_callin": "我撥打電話聽取驗證碼",
        "method_missed_call": "我撥打電話後掛斷（免費）",
        "method_dtmf_callout": "打電話給我，我輸入畫面上的驗證碼",
        "method_dtmf_callin": "我撥打電話並輸入畫面上的驗證碼",
        "do_sms": "驗證碼已以簡訊傳送至 {number}，請在下方輸入。",
        "do_voice_call": "我們正在撥打 {number}，請聆聽驗證碼並在下方輸入。",
        "do_voice_callin": "請用 {number} 撥打下方號碼，語音會唸出驗證碼，請在下方輸入。",
        "do_missed_call": "請用 {number} 撥打下方號碼，響一聲後即可掛斷，不需等待接聽。",
        "do_dtmf_callout": "我們將撥打 {number}，聽到提示後請在電話上按下此驗證碼：",
        "do_dtmf_callin": "請用 {number} 撥打下方號碼，聽到提示後按下此驗證碼：",
        "call_link": "撥打 {system}",
        "code_to_key": "要按的驗證碼",
        "code_label": "驗證碼",
        "check_button": "驗證",
        "expires_in": "剩餘時間",
        "resend_button": "重新傳送",
        "switch_label": "改用其他方式",
        "switch_button": "切換",
        "waiting": "等待中…",
        "verified": "驗證成功，{number} 是您的號碼。",
        "continue": "繼續",
        "wrong_code": "驗證碼錯誤，剩餘次數：{n}。",
        "max_attempts_reached": "錯誤次數過多，請重新開始。",
        "expired": "時間已到，驗證碼已過期，請重新開始。",
        "canceled": "此驗證已取消，請重新開始。",
        "failed": "驗證碼無法送達，請重新開始或改用其他方式。",
        "restart_button": "重新開始",
        "wait": "嘗試次數過多，請等待 {s} 秒後再試。",
        "invalid_number": "這不是有效的電話號碼。",
        "country_not_allowed": "此處無法驗證該國家的號碼。",
        "number_cannot_receive_sms": "此號碼無法接收簡訊，請選擇其他方式。",
        "number_type_not_allowed": "此類號碼無法以這個方式驗證，請選擇其他方式或號碼。",
        "channel_disabled": "無法使用此方式。",
        "no_gateway": "目前無法使用電話驗證，請選擇其他方式。",
        "invalid_code": "請輸入驗證碼的數字。",
        "error": "發生錯誤，請再試一次。",
        "invalid_link": "此連結無效或已過期。",
        "outbox_heading": "示範簡訊寄件匣",
        "outbox_note": "示範模式：不需簡訊閘道，傳送到此號碼的簡訊會顯示在這裡。",
        "outbox_empty": "尚無簡訊。",
        "status_label": "狀態",
        "reconnecting": "連線中斷，重新連線中…",
        "time_up": "時間已到。",
        "language": "語言",
    ]
}
