// C shim over libphonenumber (Debian libphonenumber-dev). The library has no C API and Swift's
// C++ interop would leak its protobuf and ICU types into every importer; this file keeps them here.
#include "CPhoneNumber.h"

#include <cstring>
#include <string>
#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/phonenumber.pb.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {
void copy(char *dst, size_t cap, const std::string &src) {
    size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
    std::memcpy(dst, src.data(), n);
    dst[n] = 0;
}
}

extern "C" vg_phone_status vg_phone_parse(const char *text, const char *default_region, vg_phone_info *out) {
    if (text == nullptr || default_region == nullptr || out == nullptr) return VG_PHONE_BAD_ARGUMENT;
    if (std::strlen(text) > 64) return VG_PHONE_TOO_LONG;
    const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    switch (util->Parse(text, default_region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return VG_PHONE_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::NOT_A_NUMBER: return VG_PHONE_NOT_A_NUMBER;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD: return VG_PHONE_TOO_SHORT_AFTER_IDD;
    case PhoneNumberUtil::TOO_SHORT_NSN: return VG_PHONE_TOO_SHORT_NSN;
    case PhoneNumberUtil::TOO_LONG_NSN: return VG_PHONE_TOO_LONG;
    }
    if (!util->IsValidNumber(number)) return VG_PHONE_INVALID_FOR_REGION;
    std::string s;
    util->Format(number, PhoneNumberUtil::E164, &s);
    copy(out->e164, sizeof out->e164, s);
    util->Format(number, PhoneNumberUtil::NATIONAL, &s);
    copy(out->national, sizeof out->national, s);
    util->Format(number, PhoneNumberUtil::INTERNATIONAL, &s);
    copy(out->international, sizeof out->international, s);
    util->GetRegionCodeForNumber(number, &s);
    copy(out->region, sizeof out->region, s);
    out->country_code = number.country_code();
    out->type = static_cast<vg_phone_type>(util->GetNumberType(number));
    return VG_PHONE_OK;
}

extern "C" int32_t vg_phone_country_code_for_region(const char *region) {
    if (region == nullptr) return 0;
    return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region);
}
