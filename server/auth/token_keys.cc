#include "server/auth/token_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/crypto.h"
#include "server/common/ids.h"

namespace coplan {
namespace {

bool IsValidKid(absl::string_view kid) {
  if (kid.empty() || kid.size() > 32) return false;
  return std::all_of(kid.begin(), kid.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

void SortNewestFirst(std::vector<TokenKey>& keys) {
  std::stable_sort(keys.begin(), keys.end(), [](const TokenKey& a, const TokenKey& b) {
    return a.signing_since > b.signing_since;
  });
}

}  // namespace

TokenKeys TokenKeys::Single(std::string kid, std::string secret) {
  TokenKeys keys;
  keys.keys_.push_back(TokenKey{std::move(kid), absl::InfinitePast(), std::move(secret)});
  return keys;
}

absl::StatusOr<TokenKeys> TokenKeys::Parse(const std::string& text) {
  TokenKeys keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto wrong = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("token key file, line ", line_number, ": ",
                                                     what,
                                                     " (each line: <kid> <signing since, unix "
                                                     "seconds> <key, base64url>)"));
    };
    if (fields.size() != 3) return wrong("not three fields");
    TokenKey key;
    key.kid = std::string(fields[0]);
    if (!IsValidKid(key.kid)) return wrong("the kid must be 1 to 32 of A-Z, a-z, 0-9, '_', '-'");
    int64_t since = 0;
    if (!absl::SimpleAtoi(fields[1], &since) || since < 0) {
      return wrong("the signing time is not a number of seconds");
    }
    key.signing_since = absl::FromUnixSeconds(since);
    if (!Base64UrlDecode(fields[2], &key.secret) || key.secret.size() < 32) {
      return wrong("the key is not base64url of at least 32 bytes");
    }
    if (keys.Find(key.kid) != nullptr) return wrong("the kid is listed twice");
    keys.keys_.push_back(std::move(key));
  }
  if (keys.keys_.empty()) return absl::InvalidArgumentError("the token key file lists no key");
  SortNewestFirst(keys.keys_);
  return keys;
}

const TokenKey& TokenKeys::SigningKeyAt(absl::Time now) const {
  for (const TokenKey& key : keys_) {
    if (key.signing_since <= now) return key;
  }
  return keys_.back();
}

const TokenKey* TokenKeys::Find(const std::string& kid) const {
  for (const TokenKey& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

std::string TokenKeys::Format() const {
  std::string text =
      "# Coplan token keys: <kid> <signing since, unix seconds> <key>. The latest reached\n"
      "# signs, all verify. Rotate with: coplan-server rotate-token-key\n";
  for (const TokenKey& key : keys_) {
    absl::StrAppend(&text, key.kid, " ", absl::ToUnixSeconds(key.signing_since), " ",
                    Base64UrlEncode(key.secret), "\n");
  }
  return text;
}

void TokenKeys::Rotate(absl::Time now, absl::Duration delay, absl::Duration token_lifetime) {
  // A key stops signing when a newer one starts; its tokens live token_lifetime longer.
  std::vector<TokenKey> kept;
  absl::Time newer_since = absl::InfiniteFuture();
  for (const TokenKey& key : keys_) {  // newest first
    if (newer_since + token_lifetime > now) kept.push_back(key);
    newer_since = key.signing_since;
  }
  std::string kid;
  do {
    kid = "k" + NewResourceId().substr(0, 8);
  } while (std::any_of(kept.begin(), kept.end(), [&](const TokenKey& k) { return k.kid == kid; }));
  std::string secret;
  Base64UrlDecode(NewRandomToken(32), &secret);
  kept.push_back(TokenKey{kid, now + delay, secret});
  SortNewestFirst(kept);
  keys_ = std::move(kept);
}

absl::StatusOr<TokenKeys> ReadTokenKeyFile(const std::string& path) {
  auto text = ReadTokenKeyFileText(path);
  if (!text.ok()) return text.status();
  return TokenKeys::Parse(*text);
}

absl::StatusOr<std::string> ReadTokenKeyFileText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read the token key file ", path,
        " (make one with: coplan-server rotate-token-key --token_key_file=", path, ")"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteTokenKeyFile(const std::string& path, const TokenKeys& keys) {
  const std::string temporary = path + ".new";
  ::unlink(temporary.c_str());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", temporary, ": ", std::strerror(errno)));
  }
  const std::string text = keys.Format();
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write the token key file ", path));
  }
  return absl::OkStatus();
}

}  // namespace coplan
