#include "tests/support/grpc_probe.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"

namespace coplan::testing {
namespace {

using google::protobuf::Message;

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const auto& slice : slices)
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out;
}

// One request/response exchange on the reflection stream.
absl::StatusOr<std::unique_ptr<Message>> Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::string& field,
                                                 const std::string& value) {
  // libgrpc++_reflection registers reflection.proto in the generated pool. Referencing
  // one of its functions keeps the linker from dropping it (--as-needed) in test
  // binaries that never start a server themselves.
  static volatile auto keep_linked = &grpc::reflection::InitProtoReflectionServerBuilderPlugin;
  (void)keep_linked;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const auto* request_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const auto* response_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  if (request_type == nullptr || response_type == nullptr) {
    return absl::InternalError("reflection.proto is not linked in");
  }
  static google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> request(factory.GetPrototype(request_type)->New());
  request->GetReflection()->SetString(request.get(), request_type->FindFieldByName(field), value);

  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  queue.Next(&tag, &ok);
  if (!ok) return absl::UnavailableError("cannot start the reflection stream");
  call->Write(ToBuffer(request->SerializeAsString()), reinterpret_cast<void*>(2));
  queue.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  queue.Next(&tag, &ok);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  queue.Next(&tag, &ok);
  const bool got_reply = ok;
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (!got_reply) {
    // The call's own status says why (UNIMPLEMENTED when the server has no reflection).
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          "no reflection reply: " + status.error_message());
    }
    return absl::UnavailableError("no reflection reply");
  }
  std::unique_ptr<Message> response(factory.GetPrototype(response_type)->New());
  if (!response->ParseFromString(FromBuffer(reply)))
    return absl::InternalError("bad reflection reply");
  return response;
}

}  // namespace

absl::StatusOr<int> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service) {
  // HealthCheckRequest { string service = 1; } / HealthCheckResponse { ServingStatus status = 1; }
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  std::string bytes;
  const grpc::Status status =
      CallWithRawRequest(channel, "/grpc.health.v1.Health/Check", request, &bytes);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (bytes.empty()) return 0;  // UNKNOWN (default value)
  if (bytes.size() != 2 || bytes[0] != 0x08) return absl::InternalError("unexpected health reply");
  return static_cast<int>(bytes[1]);
}

absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  auto response = Reflect(channel, "list_services", "*");
  if (!response.ok()) return response.status();
  const auto* descriptor = (*response)->GetDescriptor();
  const auto* list_field = descriptor->FindFieldByName("list_services_response");
  const Message& list = (*response)->GetReflection()->GetMessage(**response, list_field);
  const auto* service_field = list.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
    const Message& service = list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    names.push_back(service.GetReflection()->GetString(
        service, service.GetDescriptor()->FindFieldByName("name")));
  }
  return names;
}

absl::StatusOr<std::vector<std::string>> FilesContainingSymbol(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol) {
  auto response = Reflect(channel, "file_containing_symbol", symbol);
  if (!response.ok()) return response.status();
  const auto* descriptor = (*response)->GetDescriptor();
  const auto* files_field = descriptor->FindFieldByName("file_descriptor_response");
  const Message& files = (*response)->GetReflection()->GetMessage(**response, files_field);
  const auto* proto_field = files.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  std::vector<std::string> names;
  for (int i = 0; i < files.GetReflection()->FieldSize(files, proto_field); ++i) {
    google::protobuf::FileDescriptorProto file;
    file.ParseFromString(files.GetReflection()->GetRepeatedString(files, proto_field, i));
    names.push_back(file.name());
  }
  return names;
}

grpc::Status CallWithRawRequest(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& method, const std::string& request,
                                std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareUnaryCall(&context, method, ToBuffer(request), &queue);
  call->StartCall();
  grpc::ByteBuffer reply;
  grpc::Status status;
  call->Finish(&reply, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (response != nullptr) *response = FromBuffer(reply);
  return status;
}

}  // namespace coplan::testing
