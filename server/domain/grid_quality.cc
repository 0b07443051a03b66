#include "server/domain/grid_quality.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/proto_time.h"

namespace coplan {

std::vector<std::string> ReadableText(const v1::OptionGrid& grid) {
  std::vector<std::string> texts = {grid.decision_question()};
  for (const auto& option : grid.options()) {
    texts.push_back(option.title());
    if (!option.description().empty()) texts.push_back(option.description());
  }
  for (const auto& question : grid.questions()) {
    texts.push_back(question.question());
    for (const auto& answer : question.answers()) texts.push_back(answer.text());
  }
  return texts;
}

GridCheck CheckForPublishing(const v1::OptionGrid& grid, absl::CivilDay today,
                             double target_reading_age) {
  GridCheck check;
  auto problem = [&](std::string type, std::string subject, std::string description) {
    check.problems.push_back({std::move(type), std::move(subject), std::move(description)});
  };
  if (grid.decision_question().empty()) {
    problem("MISSING_DECISION_QUESTION", "decision_question",
            "the grid must say what decision it helps with");
  }
  if (grid.options_size() < 2) {
    problem("TOO_FEW_OPTIONS", "options", "a grid compares at least two options");
  }
  std::set<std::string> options;
  for (const auto& option : grid.options()) options.insert(option.id());
  std::set<std::string> sources;
  for (const auto& source : grid.sources()) sources.insert(source.id());
  if (grid.questions().empty())
    problem("NO_QUESTIONS", "questions", "a grid needs at least one question");
  for (const auto& question : grid.questions()) {
    std::map<std::string, int> answered;
    for (const auto& answer : question.answers()) {
      const std::string subject =
          absl::StrCat("questions[", question.id(), "].answers[", answer.id(), "]");
      if (!options.count(answer.option_id())) {
        problem("UNKNOWN_OPTION", subject,
                absl::StrCat("answers option \"", answer.option_id(),
                             "\", which the grid does not have"));
      }
      ++answered[answer.option_id()];
      if (answer.source_ids().empty()) {
        problem("MISSING_CITATION", subject, "every answer needs at least one source");
      }
      for (const auto& source : answer.source_ids()) {
        if (!sources.count(source)) {
          problem("UNKNOWN_SOURCE", subject,
                  absl::StrCat("cites source \"", source, "\", which is not in the sources list"));
        }
      }
    }
    for (const auto& option : grid.options()) {
      const int count = answered[option.id()];
      const std::string subject =
          absl::StrCat("questions[", question.id(), "].answers[option=", option.id(), "]");
      if (count == 0) {
        problem("MISSING_ANSWER", subject,
                absl::StrCat("\"", question.question(), "\" has no answer for \"", option.title(),
                             "\""));
      } else if (count > 1) {
        problem("DUPLICATE_ANSWER", subject, "a question has one answer per option");
      }
    }
  }
  if (grid.sources().empty())
    problem("NO_SOURCES", "sources", "list the evidence the answers rest on");
  if (grid.authors().empty()) problem("NO_AUTHORS", "authors", "name the authors and reviewers");
  if (grid.funding().empty()) problem("MISSING_FUNDING", "funding", "say who funded the grid");
  if (grid.conflict_of_interest().empty()) {
    problem("MISSING_CONFLICT_OF_INTEREST", "conflict_of_interest",
            "state the authors' conflicts of interest, or that there are none");
  }
  if (!IsSet(grid.last_review_date())) {
    problem("MISSING_LAST_REVIEW_DATE", "last_review_date",
            "say when the evidence was last checked");
  } else if (ToCivilDay(grid.last_review_date()) > today) {
    problem("LAST_REVIEW_IN_FUTURE", "last_review_date", "the last review cannot be in the future");
  }
  if (!IsSet(grid.next_review_date())) {
    problem("MISSING_NEXT_REVIEW_DATE", "next_review_date",
            "say when the evidence must next be checked");
  } else if (ToCivilDay(grid.next_review_date()) <= today) {
    problem("NEXT_REVIEW_PASSED", "next_review_date",
            "the next review date has passed: review the evidence before publishing");
  }
  check.readability = Readability(ReadableText(grid));
  if (check.readability.words > 0 && check.readability.reading_age_years > target_reading_age) {
    check.reading_age_above_target = true;
    check.warnings.push_back(absl::StrFormat(
        "the reading age is about %.1f years, above the target of %.0f: use shorter sentences "
        "and words",
        check.readability.reading_age_years, target_reading_age));
  }
  return check;
}

}  // namespace coplan
