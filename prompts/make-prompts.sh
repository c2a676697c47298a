#!/usr/bin/env bash
# Rebuilds the synthesized voice prompts: prompts/<locale>/<name>.wav, 8 kHz mono 16-bit PCM,
# leading/trailing silence trimmed, peak-normalized to -3 dBFS.
# Needs espeak-ng and sox (Debian: apt-get install -y espeak-ng sox). Deterministic for a given
# espeak-ng version (made with 1.51). See README.md for replacing them with recorded voice.
#
# Mandarin uses the espeak-ng voice "cmn-latn-pinyin" (Mandarin, Latin read as pinyin): in 1.51
# the plain "cmn" voice turns Chinese characters into pinyin and then reads that pinyin as
# English letters. Digits are passed as ASCII digits (docs/TESTING.md), which both voices read as
# Mandarin numerals.
set -euo pipefail
cd "$(dirname "$0")"
command -v espeak-ng >/dev/null || { echo "espeak-ng is missing (apt-get install -y espeak-ng)" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is missing (apt-get install -y sox)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# say LOCALE VOICE SPEED NAME TEXT
say() {
  local locale=$1 voice=$2 speed=$3 name=$4 text=$5
  mkdir -p "$locale"
  espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
  # Resample, trim silence at both ends (below 0.5 % of full scale), normalize the peak.
  sox -D -R "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$locale/$name.wav" \
    gain -3 rate -h 8000 silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -3
}

for d in 0 1 2 3 4 5 6 7 8 9; do
  say en en-us 175 "$d" "$d"
  say zh-TW cmn 170 "$d" "$d"
done

say en en-us 175 code-is "Your verification code is"
say en en-us 175 again "Again"
say en en-us 175 enter-code "Please enter the code shown on the web page"
say en en-us 175 verified "Thank you, your number is verified"
say en en-us 175 wrong-code "That code is not right"
say en en-us 175 no-verification "No verification is waiting for this number"
say en en-us 175 goodbye "Goodbye"
say en en-us 175 press-key "Press any key to hear your code"

say zh-TW cmn-latn-pinyin 170 code-is "您的驗證碼是"
say zh-TW cmn-latn-pinyin 170 again "再說一次"
say zh-TW cmn-latn-pinyin 170 enter-code "請輸入網頁上顯示的驗證碼"
say zh-TW cmn-latn-pinyin 170 verified "謝謝，您的號碼已經驗證完成"
say zh-TW cmn-latn-pinyin 170 wrong-code "驗證碼不正確"
say zh-TW cmn-latn-pinyin 170 no-verification "這個號碼沒有等待中的驗證"
say zh-TW cmn-latn-pinyin 170 goodbye "再見"
say zh-TW cmn-latn-pinyin 170 press-key "請按任意鍵收聽驗證碼"

du -sh en zh-TW
