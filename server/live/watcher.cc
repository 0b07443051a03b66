#include "server/live/watcher.h"

#include <utility>

namespace coplan {

bool Watcher::OfferPresence(const PresenceView& present) {
  if (present.everyone == nullptr) return false;
  if (target_.via == Relationship::kSelf || target_.via == Relationship::kCareTeam) {
    return stream_->OfferPresence(id_, present.everyone);
  }
  const std::string self = PersonName(target_.reader.person_id);
  auto shown = std::make_shared<coplan::v1::WatchEvent>();
  auto* update = shown->mutable_presence();
  for (const auto& person : present.everyone->presence().present()) {
    if (person.person() == self || present.shown_to_all.count(person.person()) > 0) {
      *update->add_present() = person;
    }
  }
  return stream_->OfferPresence(id_, std::move(shown));
}

}  // namespace coplan
