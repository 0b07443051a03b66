#include "server/domain/nhs_number.h"

#include "server/common/errors.h"

namespace coplan {

absl::StatusOr<std::string> NormalizeNhsNumber(absl::string_view input, absl::string_view field) {
  std::string digits;
  for (char c : input) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return InvalidFieldError(field, "must be 10 digits (spaces allowed)");
    digits.push_back(c);
  }
  if (digits.size() != 10) return InvalidFieldError(field, "must be 10 digits (spaces allowed)");
  // Weights 10 down to 2 over the first nine digits; the check digit is 11 minus the
  // remainder mod 11, where 11 means 0 and 10 means the number cannot be issued.
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (digits[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11) check = 0;
  if (check == 10 || check != digits[9] - '0') {
    return InvalidFieldError(field, "is not a valid NHS number (its check digit does not match)");
  }
  return digits;
}

}  // namespace coplan
