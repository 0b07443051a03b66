#include "server/common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace coplan {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void SetMinLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel candidate :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

Log::Log(LogLevel level, absl::string_view event)
    : enabled_(static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed)) {
  if (!enabled_) return;
  line_ = absl::StrCat("{\"time\":\"",
                       absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                       "\",\"level\":\"", LevelName(level), "\",\"event\":");
  AppendJsonString(&line_, event);
}

Log::~Log() {
  if (!enabled_) return;
  line_.append("}\n");
  std::fwrite(line_.data(), 1, line_.size(), stderr);
}

Log& Log::Str(absl::string_view key, absl::string_view value) {
  if (!enabled_) return *this;
  line_.push_back(',');
  AppendJsonString(&line_, key);
  line_.push_back(':');
  AppendJsonString(&line_, value);
  return *this;
}

Log& Log::Num(absl::string_view key, double value) {
  if (!enabled_) return *this;
  line_.push_back(',');
  AppendJsonString(&line_, key);
  absl::StrAppendFormat(&line_, ":%.3f", value);
  return *this;
}

Log& Log::Int(absl::string_view key, long long value) {
  if (!enabled_) return *this;
  line_.push_back(',');
  AppendJsonString(&line_, key);
  absl::StrAppend(&line_, ":", value);
  return *this;
}

}  // namespace coplan
