#include "remote/api_methods.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/auth_service.pb.h"
#include "coplan/v1/decision_service.pb.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/export_service.pb.h"
#include "coplan/v1/option_grid_service.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "coplan/v1/plan_service.pb.h"
#include "server/common/errors.h"

namespace coplan::client::remote {
namespace {

// Naming one message of each service's file links its descriptors in (a static library
// keeps only what is referenced), so that the generated pool knows the services.
void LinkServiceDescriptors() {
  static const bool linked = [] {
    (void)coplan::v1::GetPlanRequest::descriptor();
    (void)coplan::v1::EditDocumentRequest::descriptor();
    (void)coplan::v1::GetPersonRequest::descriptor();
    (void)coplan::v1::SignInRequest::descriptor();
    (void)coplan::v1::ListAccessEventsRequest::descriptor();
    (void)coplan::v1::GetOptionGridRequest::descriptor();
    (void)coplan::v1::GetDecisionRecordRequest::descriptor();
    (void)coplan::v1::ExportFhirBundleRequest::descriptor();
    return true;
  }();
  (void)linked;
}

bool IsSafeToRetry(const google::protobuf::MethodDescriptor& method) {
  const std::string& name = method.name();
  return absl::StartsWith(name, "Get") || absl::StartsWith(name, "List") ||
         absl::StartsWith(name, "Export") || absl::StartsWith(name, "Print") ||
         name == "EditDocument";
}

}  // namespace

absl::StatusOr<ApiMethod> FindApiMethod(absl::string_view name) {
  LinkServiceDescriptors();
  absl::string_view bare = absl::StripPrefix(name, "/");
  if (!absl::StartsWith(bare, "coplan.v1.")) {
    return InvalidFieldError("method", absl::StrCat("\"", name,
                                                    "\" is not a Coplan API method; give it as "
                                                    "\"coplan.v1.PlanService/GetPlan\""));
  }
  const std::string dotted = absl::StrReplaceAll(bare, {{"/", "."}});
  const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  if (method == nullptr || bare.find('/') == absl::string_view::npos) {
    return InvalidFieldError("method", absl::StrCat("no such method: \"", name, "\""));
  }
  if (method->client_streaming() || method->server_streaming()) {
    return InvalidFieldError(
        "method", absl::StrCat(method->full_name(), " is a stream; follow documents with Follow"));
  }
  const std::string& service = method->service()->full_name();
  if (service == "coplan.v1.AuthService" &&
      (method->name() == "SignIn" || method->name() == "SignOut" ||
       method->name() == "RefreshSession")) {
    return InvalidFieldError("method", absl::StrCat(method->full_name(),
                                                    " is managed by the client: use SignIn and "
                                                    "SignOut"));
  }
  ApiMethod out;
  out.path = absl::StrCat("/", service, "/", method->name());
  out.request = method->input_type();
  out.response = method->output_type();
  out.safe_to_retry = IsSafeToRetry(*method);
  return out;
}

}  // namespace coplan::client::remote
