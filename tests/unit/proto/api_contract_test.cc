// The API's own rules, checked over every message of coplan.v1 by reflection, so that a
// new field cannot slip in without a documented limit or a list without stable ids.
#include <gtest/gtest.h>

#include <set>

#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/auth_service.pb.h"
#include "coplan/v1/decision_service.pb.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/field_rules.pb.h"
#include "coplan/v1/option_grid_service.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "coplan/v1/plan_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "server/domain/document_paths.h"
#include "server/domain/field_rules.h"

namespace coplan {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::vector<const Descriptor*> CoplanMessages() {
  std::vector<const Descriptor*> out;
  std::set<const Descriptor*> seen;
  std::vector<const Descriptor*> pending = {v1::Plan::descriptor(),
                                            v1::DecisionRecord::descriptor(),
                                            v1::OptionGrid::descriptor(),
                                            v1::OptionGridVersion::descriptor(),
                                            v1::EditDocumentRequest::descriptor(),
                                            v1::WatchEvent::descriptor(),
                                            v1::Grant::descriptor(),
                                            v1::ProxyAccess::descriptor(),
                                            v1::Person::descriptor(),
                                            v1::AccessEvent::descriptor(),
                                            v1::CreatePlanRequest::descriptor(),
                                            v1::ListPlansRequest::descriptor(),
                                            v1::CreateAccountRequest::descriptor(),
                                            v1::SignInRequest::descriptor(),
                                            v1::CollaborateResponse::descriptor(),
                                            v1::ListCaseloadDecisionsResponse::descriptor(),
                                            v1::ListAccessEventsRequest::descriptor()};
  while (!pending.empty()) {
    const Descriptor* message = pending.back();
    pending.pop_back();
    if (!seen.insert(message).second || message->file()->package() != "coplan.v1") continue;
    out.push_back(message);
    for (int i = 0; i < message->field_count(); ++i) {
      if (message->field(i)->message_type()) pending.push_back(message->field(i)->message_type());
    }
  }
  return out;
}

TEST(ApiContractTest, EveryStringHasAMaxLengthAndEveryListAMaxItems) {
  for (const Descriptor* message : CoplanMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
          field->type() != FieldDescriptor::TYPE_BYTES) {
        EXPECT_GT(field->options().GetExtension(v1::max_length), 0) << field->full_name();
      }
      if (field->is_repeated()) {
        EXPECT_GT(field->options().GetExtension(v1::max_items), 0) << field->full_name();
      }
    }
  }
}

TEST(ApiContractTest, EveryListOfMessagesInAnEditedDocumentHasStableIds) {
  for (const Descriptor* root : {v1::Plan::descriptor(), v1::DecisionRecord::descriptor()}) {
    std::vector<const Descriptor*> pending = {root};
    std::set<const Descriptor*> seen;
    while (!pending.empty()) {
      const Descriptor* message = pending.back();
      pending.pop_back();
      if (!seen.insert(message).second || message->file()->package() != "coplan.v1") continue;
      for (int i = 0; i < message->field_count(); ++i) {
        const FieldDescriptor* field = message->field(i);
        if (IsOutputOnly(field) || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
        if (field->is_repeated())
          EXPECT_TRUE(IsItemList(field)) << field->full_name() << " has no id";
        pending.push_back(field->message_type());
      }
    }
  }
}

TEST(ApiContractTest, EnumsStartWithUnspecifiedZero) {
  for (const auto* file :
       {v1::Plan::descriptor()->file(), v1::DecisionRecord::descriptor()->file(),
        v1::Grant::descriptor()->file(), v1::AccessEvent::descriptor()->file(),
        v1::WatchEvent::descriptor()->file(), v1::OptionGrid::descriptor()->file(),
        v1::Agreement::descriptor()->file()}) {
    for (int i = 0; i < file->enum_type_count(); ++i) {
      const auto* type = file->enum_type(i);
      ASSERT_GT(type->value_count(), 0);
      EXPECT_EQ(type->value(0)->number(), 0) << type->full_name();
      EXPECT_NE(type->value(0)->name().find("_UNSPECIFIED"), std::string::npos)
          << type->full_name();
    }
  }
}

}  // namespace
}  // namespace coplan
