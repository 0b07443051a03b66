// Conversions between protobuf/Google types and Abseil time types.
//
//   google::protobuf::Timestamp ts = ToTimestamp(absl::Now());
//   absl::CivilDay day = ToCivilDay(plan.care_plan().review_date());
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/type/date.pb.h"

namespace coplan {

google::protobuf::Timestamp ToTimestamp(absl::Time time);
absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp);
// Microseconds since the epoch, the resolution PostgreSQL stores.
int64_t TimeToMicros(absl::Time time);
absl::Time MicrosToTime(int64_t micros);

// INVALID_ARGUMENT naming `field` unless the timestamp is within 1900-01-01 and
// 9999-12-31 with valid nanos (what the database can store).
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& timestamp,
                               const std::string& field);

// A date is "set" when all of year, month and day are non-zero.
bool IsSet(const google::type::Date& date);
// INVALID_ARGUMENT naming `field` unless the date is empty or a real calendar date.
absl::Status ValidateDate(const google::type::Date& date, const std::string& field);
absl::CivilDay ToCivilDay(const google::type::Date& date);
google::type::Date ToDate(absl::CivilDay day);
// "YYYY-MM-DD", as PostgreSQL's date type reads and writes it; empty for an unset date.
std::string ToIsoDate(const google::type::Date& date);
std::optional<google::type::Date> ParseIsoDate(const std::string& text);

// Today in the UK (the services Coplan serves), for review and follow-up dates.
absl::CivilDay TodayInUk(absl::Time now);
// The instant a UK day begins (midnight in London, summer time or not).
absl::Time StartOfUkDay(absl::CivilDay day);
// Whole years from `birth` to `day`.
int AgeOn(absl::CivilDay birth, absl::CivilDay day);

}  // namespace coplan
