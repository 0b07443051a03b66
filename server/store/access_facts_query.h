// Store-internal: the SQL that loads AccessFacts (domain/access_facts.h), and how to
// read its columns. Other layers use AccessFactsStore (access_facts_store.h).
//
// The SQL is a fragment that stores embed (for example to load a document and
// the facts about it in a single round trip). Its parameters are $1 actor person id,
// $2 the credential's id (a session, "idp:{identity}" for an identity provider's token) and $3
// subject person id; its columns are read by ReadAccessFacts starting at `first_column`.
#pragma once

#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "server/domain/access_facts.h"

namespace coplan {

// SELECT list + FROM clause over $1..$3, yielding kAccessFactsColumns columns.
extern const char kAccessFactsSelect[];
inline constexpr int kAccessFactsColumns = 13;

// Reads the facts from a row produced by kAccessFactsSelect.
AccessFacts ReadAccessFacts(const pqxx::row& row, int first_column, const std::string& actor_id,
                            const std::string& subject_id);

}  // namespace coplan
