// The printable crisis plan: a PDF on A4, in large clear text, in English or Welsh.
//
// Pango lays out the person's words in whatever script they wrote them (shaping, bidi,
// font fallback through fontconfig) and Cairo writes a PDF with the fonts embedded, so the
// text can be searched and read aloud. The crisis lines come first, in a box; then a
// heading per section the plan fills in. Nothing is ever cut: a long plan continues on
// further pages, paragraphs splitting between lines.
//
//   PrintContext context;
//   context.locale = "cy";
//   ...
//   COPLAN_ASSIGN_OR_RETURN(PrintedPlan printed, PrintCrisisPlan(plan, context));
//
// Safe to call from several threads at once: every call has its own font map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/v1/plan.pb.h"

namespace coplan {

// One signer of the agreed revision.
struct PrintedAgreement {
  std::string display_name;
  absl::Time sign_time;
};

struct PrintContext {
  std::string locale;               // "en" or "cy" (or a tag of either, e.g. "cy-GB")
  std::string person_display_name;  // whose plan it is
  absl::Time printed_time;
  absl::TimeZone time_zone;  // dates are printed in it (the server passes Europe/London)
  // Empty when the current revision is not agreed.
  std::vector<PrintedAgreement> agreed_with;
  int64_t agreed_revision = 0;
};

struct PrintedPlan {
  std::string pdf;  // the PDF bytes
  int pages = 0;
  // Glyphs no installed font has (they would print as boxes), summed over every layout.
  int missing_glyphs = 0;
};

// The supported locales, sorted: {"cy", "en"}.
std::vector<std::string> SupportedPrintLocales();

// INVALID_ARGUMENT on "locale" (listing the supported ones) when the locale is not
// supported, and on "name" when the plan is not a crisis plan.
absl::StatusOr<PrintedPlan> PrintCrisisPlan(const coplan::v1::Plan& plan,
                                            const PrintContext& context);

}  // namespace coplan
