#include "server/common/proto_time.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"

namespace coplan {

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
  return out;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

int64_t TimeToMicros(absl::Time time) { return absl::ToUnixMicros(time); }
absl::Time MicrosToTime(int64_t micros) { return absl::FromUnixMicros(micros); }

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& timestamp,
                               const std::string& field) {
  constexpr int64_t kMin = -2208988800;   // 1900-01-01T00:00:00Z
  constexpr int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  if (timestamp.seconds() < kMin || timestamp.seconds() > kMax || timestamp.nanos() < 0 ||
      timestamp.nanos() > 999999999) {
    return InvalidFieldError(field, "is not a valid time (1900 to 9999)");
  }
  return absl::OkStatus();
}

bool IsSet(const google::type::Date& date) {
  return date.year() != 0 || date.month() != 0 || date.day() != 0;
}

absl::Status ValidateDate(const google::type::Date& date, const std::string& field) {
  if (!IsSet(date)) return absl::OkStatus();
  if (date.year() < 1900 || date.year() > 2200 || date.month() < 1 || date.month() > 12 ||
      date.day() < 1 || date.day() > 31) {
    return InvalidFieldError(field, "is not a valid date (year 1900-2200, month 1-12, day 1-31)");
  }
  absl::CivilDay day(date.year(), date.month(), date.day());
  if (day.month() != date.month() || day.day() != date.day()) {
    return InvalidFieldError(field, absl::StrFormat("%04d-%02d-%02d is not a calendar date",
                                                    date.year(), date.month(), date.day()));
  }
  return absl::OkStatus();
}

absl::CivilDay ToCivilDay(const google::type::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

google::type::Date ToDate(absl::CivilDay day) {
  google::type::Date out;
  out.set_year(static_cast<int32_t>(day.year()));
  out.set_month(day.month());
  out.set_day(day.day());
  return out;
}

std::string ToIsoDate(const google::type::Date& date) {
  if (!IsSet(date)) return "";
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

std::optional<google::type::Date> ParseIsoDate(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return std::nullopt;
  }
  google::type::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

namespace {

const absl::TimeZone& London() {
  static const absl::TimeZone* zone = [] {
    auto* tz = new absl::TimeZone();
    if (!absl::LoadTimeZone("Europe/London", tz)) *tz = absl::UTCTimeZone();
    return tz;
  }();
  return *zone;
}

}  // namespace

absl::CivilDay TodayInUk(absl::Time now) { return absl::ToCivilDay(now, London()); }

absl::Time StartOfUkDay(absl::CivilDay day) { return absl::FromCivil(day, London()); }

int AgeOn(absl::CivilDay birth, absl::CivilDay day) {
  int age = static_cast<int>(day.year() - birth.year());
  if (day.month() < birth.month() || (day.month() == birth.month() && day.day() < birth.day())) {
    --age;
  }
  return age;
}

}  // namespace coplan
