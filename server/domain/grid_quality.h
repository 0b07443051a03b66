// The quality criteria a grid must meet to be published (IPDAS, NICE decision-aid
// standards), and the grid's reading age.
//
//   GridCheck check = CheckForPublishing(draft, today, target_years);
//   check.problems   -> every missing answer, dangling citation, missing quality item
//   check.warnings   -> e.g. the reading age is above the target
//
// Problems block publishing; warnings do not (unless the server enforces the target).
#pragma once

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "coplan/v1/option_grid.pb.h"
#include "server/domain/readability.h"

namespace coplan {

struct GridProblem {
  std::string type;         // e.g. "MISSING_ANSWER"
  std::string subject;      // e.g. "questions[q-cost].answers[option=o-wait]"
  std::string description;  // plain words
};

struct GridCheck {
  std::vector<GridProblem> problems;
  std::vector<std::string> warnings;
  ReadabilityResult readability;
  bool reading_age_above_target = false;
};

GridCheck CheckForPublishing(const coplan::v1::OptionGrid& grid, absl::CivilDay today,
                             double target_reading_age);

// The text readers read (question, options, rows, answers), for the reading age.
std::vector<std::string> ReadableText(const coplan::v1::OptionGrid& grid);

}  // namespace coplan
