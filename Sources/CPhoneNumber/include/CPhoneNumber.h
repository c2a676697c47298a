/// CPhoneNumber: a C face over Google's libphonenumber (C++), so Swift can parse, validate and
/// format numbers (ITU-T E.164) without reimplementing the numbering plans of every country.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of `vg_phone_parse`.
typedef enum {
    VG_PHONE_OK = 0,
    VG_PHONE_INVALID_COUNTRY_CODE = 1,
    VG_PHONE_NOT_A_NUMBER = 2,
    VG_PHONE_TOO_SHORT_AFTER_IDD = 3,
    VG_PHONE_TOO_SHORT_NSN = 4,
    VG_PHONE_TOO_LONG = 5,
    VG_PHONE_INVALID_FOR_REGION = 6, ///< parses, but no number of that country has this form
    VG_PHONE_BAD_ARGUMENT = 7,
} vg_phone_status;

/// The type of a number (mirrors libphonenumber's PhoneNumberType).
typedef enum {
    VG_PHONE_FIXED_LINE = 0,
    VG_PHONE_MOBILE = 1,
    VG_PHONE_FIXED_LINE_OR_MOBILE = 2,
    VG_PHONE_TOLL_FREE = 3,
    VG_PHONE_PREMIUM_RATE = 4,
    VG_PHONE_SHARED_COST = 5,
    VG_PHONE_VOIP = 6,
    VG_PHONE_PERSONAL_NUMBER = 7,
    VG_PHONE_PAGER = 8,
    VG_PHONE_UAN = 9,
    VG_PHONE_VOICEMAIL = 10,
    VG_PHONE_UNKNOWN = 11,
} vg_phone_type;

/// A parsed, valid number.
typedef struct {
    char e164[24];          ///< "+886975000888"
    char region[4];         ///< ISO 3166-1 alpha-2 of the number, "TW"
    char national[40];      ///< national format, "0975 000 888"
    char international[48]; ///< international format, "+886 975 000 888"
    int32_t country_code;   ///< 886
    vg_phone_type type;
} vg_phone_info;

/// Parses `text` (any format a person would type) with `default_region` (ISO alpha-2) for numbers
/// written without a country code, validates it and fills `out`. Thread-safe.
vg_phone_status vg_phone_parse(const char *text, const char *default_region, vg_phone_info *out);

/// The country calling code of an ISO alpha-2 region (886 for "TW"), 0 when unknown.
int32_t vg_phone_country_code_for_region(const char *region);

#ifdef __cplusplus
}
#endif
