#include "remote/rpc_client.h"

#include <random>
#include <thread>

namespace coplan::client::remote {
namespace {

absl::Duration Jitter(absl::Duration base) {
  thread_local std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> spread(0.5, 1.5);
  return base * spread(random);
}

}  // namespace

RpcClient::RpcClient(RpcClientOptions options) : options_(std::move(options)) {
  channel_ = options_.channel;
  if (channel_ == nullptr) {
    auto credentials =
        options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
    channel_ = grpc::CreateChannel(options_.target, credentials);
  }
  plans_ = coplan::v1::PlanService::NewStub(channel_);
  editing_ = coplan::v1::EditingService::NewStub(channel_);
  people_ = coplan::v1::PeopleService::NewStub(channel_);
  auth_ = coplan::v1::AuthService::NewStub(channel_);
  audit_ = coplan::v1::AuditService::NewStub(channel_);
  grids_ = coplan::v1::OptionGridService::NewStub(channel_);
  decisions_ = coplan::v1::DecisionService::NewStub(channel_);
  exports_ = coplan::v1::ExportService::NewStub(channel_);
}

void RpcClient::SetToken(std::string token) {
  std::lock_guard<std::mutex> lock(mutex_);
  token_ = std::move(token);
}

void RpcClient::SetTokenSource(TokenSource source) {
  std::lock_guard<std::mutex> lock(mutex_);
  token_source_ = std::move(source);
}

std::string RpcClient::token() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return token_;
}

std::string RpcClient::person() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return person_;
}

absl::Status RpcClient::SignIn(const std::string& username, const std::string& password) {
  auto sign_in = [this, username, password]() -> absl::StatusOr<std::string> {
    coplan::v1::SignInRequest request;
    request.set_username(username);
    request.set_password(password);
    coplan::v1::SignInResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.default_deadline));
    grpc::Status status = auth_->SignIn(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    std::lock_guard<std::mutex> lock(mutex_);
    person_ = response.person();
    return response.access_token();
  };
  absl::StatusOr<std::string> token = sign_in();
  if (!token.ok()) return token.status();
  SetToken(*token);
  SetTokenSource(sign_in);
  return absl::OkStatus();
}

absl::Status RpcClient::SignOut() {
  auto result = Call(&coplan::v1::AuthService::Stub::SignOut, coplan::v1::SignOutRequest());
  SetTokenSource(nullptr);
  return result.status();
}

std::unique_ptr<grpc::ClientContext> RpcClient::NewContext(
    std::optional<absl::Duration> deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  const std::string bearer = token();
  if (!bearer.empty()) context->AddMetadata("authorization", "Bearer " + bearer);
  if (!deadline || *deadline != absl::InfiniteDuration()) {
    context->set_deadline(
        absl::ToChronoTime(absl::Now() + deadline.value_or(options_.default_deadline)));
  }
  return context;
}

absl::Status RpcClient::Invoke(const std::function<grpc::Status(grpc::ClientContext*)>& call,
                               bool retry, std::optional<absl::Duration> deadline) {
  absl::Duration backoff = options_.initial_backoff;
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    auto context = NewContext(deadline);
    grpc::Status status = call(context.get());
    if (status.ok()) return absl::OkStatus();
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && !refreshed) {
      TokenSource source;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        source = token_source_;
      }
      if (source) {
        refreshed = true;
        auto fresh = source();
        if (fresh.ok()) {
          SetToken(*fresh);
          continue;
        }
      }
    }
    if (!retry || status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        attempt >= options_.max_attempts) {
      return FromGrpcStatus(status);
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(Jitter(backoff)));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace coplan::client::remote
