#include "server/domain/document_meta.h"

#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/proto_time.h"
#include "server/domain/field_rules.h"

namespace coplan {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

const FieldDescriptor* Field(const Message& message, const char* name) {
  return message.GetDescriptor()->FindFieldByName(name);
}

void SetString(Message& message, const char* name, const std::string& value) {
  if (const FieldDescriptor* field = Field(message, name)) {
    message.GetReflection()->SetString(&message, field, value);
  }
}

void SetTime(Message& message, const char* name, absl::Time value) {
  if (const FieldDescriptor* field = Field(message, name)) {
    message.GetReflection()->MutableMessage(&message, field)->CopyFrom(ToTimestamp(value));
  }
}

}  // namespace

std::string DocumentEtag(int64_t key, int64_t revision) {
  return Base64UrlEncode(Sha256(absl::StrCat("coplan-etag:", key, ":", revision)).substr(0, 12));
}

void SetDocumentMeta(Message& document, const DocumentMeta& meta) {
  SetString(document, "name", meta.name);
  if (const FieldDescriptor* field = Field(document, "revision")) {
    document.GetReflection()->SetInt64(&document, field, meta.revision);
  }
  SetString(document, "etag", DocumentEtag(meta.key, meta.revision));
  SetTime(document, "create_time", meta.create_time);
  SetTime(document, "update_time", meta.update_time);
  SetString(document, "creator", meta.creator);
  SetString(document, "last_editor", meta.last_editor);
  if (meta.delete_time) {
    SetTime(document, "delete_time", *meta.delete_time);
  } else if (const FieldDescriptor* field = Field(document, "delete_time")) {
    document.GetReflection()->ClearField(&document, field);
  }
  if (const FieldDescriptor* field = Field(document, "agreement")) {
    document.GetReflection()->MutableMessage(&document, field)->CopyFrom(meta.agreement);
  }
}

void StripForStorage(Message& document) {
  ClearOutputOnlyFields(document);
  for (const char* name : {"name", "etag"}) {
    if (const FieldDescriptor* field = Field(document, name)) {
      document.GetReflection()->ClearField(&document, field);
    }
  }
}

std::string EtagOf(const Message& document) {
  const FieldDescriptor* field = Field(document, "etag");
  return field ? document.GetReflection()->GetString(document, field) : "";
}

}  // namespace coplan
