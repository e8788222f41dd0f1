#include "rpc/output_message.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <utility>

#include "rpc/proto_convert.h"

namespace cmdctl {
namespace {

using google::protobuf::io::CodedOutputStream;

// Protobuf's wire types (encoding.md): varint and length-delimited.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

uint8_t* WriteTag(int field, uint32_t wire_type, uint8_t* out) {
  return CodedOutputStream::WriteVarint32ToArray(
      (static_cast<uint32_t>(field) << 3) | wire_type, out);
}

// An int32, an enum or an int64 field as protobuf writes it: a varint of
// the value sign-extended to 64 bits; left out when zero (proto3).
uint8_t* WriteVarintField(int field, int64_t value, uint8_t* out) {
  if (value == 0) return out;
  out = WriteTag(field, kVarint, out);
  return CodedOutputStream::WriteVarint64ToArray(static_cast<uint64_t>(value),
                                                 out);
}

// The slice's hold on a chunk's buffer.
struct SentBuffer {
  std::string data;
  std::weak_ptr<ReturnedBuffer> returned;
};

void ReleaseSentBuffer(void* p) {
  std::unique_ptr<SentBuffer> sent(static_cast<SentBuffer*>(p));
  if (std::shared_ptr<ReturnedBuffer> returned = sent->returned.lock()) {
    returned->Put(std::move(sent->data));
  }
}

}  // namespace

std::optional<std::string> ReturnedBuffer::Take() {
  absl::MutexLock lock(&mu_);
  std::optional<std::string> buffer = std::move(buffer_);
  buffer_.reset();
  return buffer;
}

void ReturnedBuffer::Put(std::string buffer) {
  absl::MutexLock lock(&mu_);
  buffer_ = std::move(buffer);
}

grpc::ByteBuffer EncodeOutputMessage(OutputChunk chunk,
                                     std::weak_ptr<ReturnedBuffer> returned) {
  using Response = v1::ProcessOutputResponse;
  // Field order as protobuf serializes: data (1), stream (2), offset (3).
  // Each varint takes at most 10 bytes, a tag at most 5.
  uint8_t head[16];
  uint8_t* head_end = head;
  if (!chunk.data.empty()) {
    head_end = WriteTag(Response::kDataFieldNumber, kLengthDelimited, head_end);
    head_end =
        CodedOutputStream::WriteVarint64ToArray(chunk.data.size(), head_end);
  }
  uint8_t tail[32];
  uint8_t* tail_end = WriteVarintField(Response::kStreamFieldNumber,
                                       ToProto(chunk.stream), tail);
  tail_end =
      WriteVarintField(Response::kOffsetFieldNumber, chunk.offset, tail_end);

  grpc::Slice slices[3];
  size_t n = 0;
  if (head_end != head) slices[n++] = grpc::Slice(head, head_end - head);
  if (!chunk.data.empty()) {
    auto* sent = new SentBuffer{std::move(chunk.data), std::move(returned)};
    slices[n++] = grpc::Slice(sent->data.data(), sent->data.size(),
                              &ReleaseSentBuffer, sent);
  }
  if (tail_end != tail) slices[n++] = grpc::Slice(tail, tail_end - tail);
  return grpc::ByteBuffer(slices, n);
}

absl::StatusOr<v1::ProcessOutputRequest> DecodeOutputRequest(
    const grpc::ByteBuffer& request) {
  grpc::ByteBuffer copy(request);  // shares the slices; the reader consumes
  v1::ProcessOutputRequest parsed;
  grpc::ProtoBufferReader reader(&copy);
  if (!reader.status().ok() || !parsed.ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(
        "malformed request: not a ProcessOutputRequest");
  }
  return parsed;
}

}  // namespace cmdctl
