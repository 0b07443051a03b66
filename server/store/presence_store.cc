#include "server/store/presence_store.h"

#include <pqxx/pqxx>

#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/store/database.h"

namespace coplan {

PresenceStore::PresenceStore(Database& db) : db_(db) {
  db_.Prepare(
      "presence_upsert",
      "INSERT INTO presence (document_key, instance_id, person_id, editing, since, heartbeat)"
      " VALUES ($1, $2, $3, $4, now(), now()) ON CONFLICT (document_key, instance_id, person_id)"
      " DO UPDATE SET editing = $4, heartbeat = now()");
  db_.Prepare(
      "presence_delete",
      "DELETE FROM presence WHERE document_key = $1 AND instance_id = $2 AND person_id = $3");
  db_.Prepare("presence_heartbeat", "UPDATE presence SET heartbeat = now() WHERE instance_id = $1");
  db_.Prepare("presence_clear", "DELETE FROM presence WHERE instance_id = $1");
  db_.Prepare(
      "presence_load",
      "SELECT p.person_id, people.display_name, bool_or(p.editing), time_to_micros(min(p.since)),"
      " p.person_id = d.person_id OR EXISTS (SELECT 1 FROM care_team_members c"
      "   WHERE c.person_id = d.person_id AND c.clinician_id = p.person_id)"
      " FROM presence p JOIN people ON people.id = p.person_id"
      " JOIN documents d ON d.key = p.document_key"
      " WHERE p.document_key = $1 AND p.heartbeat > now() - $2 * interval '1 second'"
      " GROUP BY p.person_id, people.display_name, d.person_id"
      " ORDER BY min(p.since), p.person_id");
}

void PresenceStore::Set(WriteTransaction& tx, int64_t document_key, const std::string& instance_id,
                        const std::string& person_id, bool present, bool editing) {
  if (present) {
    tx.sql().exec_prepared("presence_upsert", document_key, instance_id, person_id, editing);
  } else {
    tx.sql().exec_prepared("presence_delete", document_key, instance_id, person_id);
  }
}

void PresenceStore::Heartbeat(WriteTransaction& tx, const std::string& instance_id) {
  tx.sql().exec_prepared("presence_heartbeat", instance_id);
}

void PresenceStore::Clear(WriteTransaction& tx, const std::string& instance_id) {
  tx.sql().exec_prepared("presence_clear", instance_id);
}

PresentPeople PresenceStore::Load(Transaction& tx, int64_t document_key,
                                  absl::Duration stale_after) {
  PresentPeople people;
  for (const auto& row :
       tx.sql().exec_prepared("presence_load", document_key, absl::ToInt64Seconds(stale_after))) {
    auto* present = people.everyone.add_present();
    present->set_person(PersonName(row[0].as<std::string>()));
    present->set_display_name(row[1].as<std::string>());
    present->set_state(row[2].as<bool>() ? v1::PRESENCE_STATE_EDITING : v1::PRESENCE_STATE_VIEWING);
    *present->mutable_since() = ToTimestamp(MicrosToTime(row[3].as<int64_t>()));
    if (row[4].as<bool>()) people.shown_to_all.insert(present->person());
  }
  return people;
}

}  // namespace coplan
