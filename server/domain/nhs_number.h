// NHS numbers: 10 digits, the last a modulus-11 check digit over the first nine (NHS
// Digital, "NHS number" data dictionary). People write them with spaces ("943 476 5919").
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coplan {

// The NHS number as 10 digits, with the spaces people write removed; INVALID_ARGUMENT on
// `field` when it is not 10 digits or its check digit is wrong (a mistyped digit or two
// swapped neighbours are caught this way).
absl::StatusOr<std::string> NormalizeNhsNumber(absl::string_view input, absl::string_view field);

}  // namespace coplan
