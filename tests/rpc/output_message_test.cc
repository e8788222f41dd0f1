#include "rpc/output_message.h"

#include <grpcpp/support/slice.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/proto_convert.h"

namespace cmdctl {
namespace {

// The bytes of `buffer`, concatenated.
std::string Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

std::string Serialized(const OutputChunk& chunk) {
  v1::ProcessOutputResponse response;
  response.set_data(chunk.data);
  response.set_stream(ToProto(chunk.stream));
  response.set_offset(chunk.offset);
  return response.SerializeAsString();
}

OutputChunk Chunk(OutputStream stream, int64_t offset, std::string data) {
  OutputChunk chunk;
  chunk.stream = stream;
  chunk.offset = offset;
  chunk.data = std::move(data);
  return chunk;
}

TEST(OutputMessageTest, BytesAreExactlyWhatProtobufSerializes) {
  const std::vector<OutputChunk> cases = {
      Chunk(OutputStream::kStdout, 0, "x"),
      Chunk(OutputStream::kStderr, 0, "hello\n"),
      Chunk(OutputStream::kStdout, 127, std::string(127, 'a')),
      Chunk(OutputStream::kStderr, 128, std::string(128, '\0')),
      Chunk(OutputStream::kStdout, int64_t{1} << 40, std::string(16384, 'b')),
      Chunk(OutputStream::kStderr, std::numeric_limits<int64_t>::max(),
            std::string(256 * 1024 + 3, 'c')),
      Chunk(OutputStream::kStdout, 5, ""),  // (the cursor sends none)
  };
  for (const OutputChunk& chunk : cases) {
    SCOPED_TRACE(testing::Message() << "offset " << chunk.offset << ", "
                                    << chunk.data.size() << " bytes");
    std::string want = Serialized(chunk);
    grpc::ByteBuffer message =
        EncodeOutputMessage(chunk, std::weak_ptr<ReturnedBuffer>());
    EXPECT_EQ(Bytes(message), want);
    v1::ProcessOutputResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(Bytes(message)));
    EXPECT_EQ(parsed.data(), chunk.data);
    EXPECT_EQ(parsed.offset(), chunk.offset);
    EXPECT_EQ(parsed.stream(), ToProto(chunk.stream));
  }
}

TEST(OutputMessageTest, DataIsSentFromTheChunksOwnBufferNotACopy) {
  OutputChunk chunk = Chunk(OutputStream::kStdout, 9, std::string(65536, 'z'));
  const char* data = chunk.data.data();
  grpc::ByteBuffer message =
      EncodeOutputMessage(std::move(chunk), std::weak_ptr<ReturnedBuffer>());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(message.Dump(&slices).ok());
  bool found = false;
  for (const grpc::Slice& s : slices) {
    if (reinterpret_cast<const char*>(s.begin()) == data) {
      found = true;
      EXPECT_EQ(s.size(), 65536u);
    }
  }
  EXPECT_TRUE(found) << "no slice points at the chunk's buffer";
}

TEST(OutputMessageTest, TheBufferComesBackOnlyWhenEveryReferenceIsGone) {
  auto returned = std::make_shared<ReturnedBuffer>();
  OutputChunk chunk = Chunk(OutputStream::kStdout, 0, std::string(4096, 'q'));
  const char* data = chunk.data.data();
  auto message = std::make_unique<grpc::ByteBuffer>(
      EncodeOutputMessage(std::move(chunk), returned));
  grpc::ByteBuffer copy(*message);  // as gRPC keeps one while it sends
  message.reset();
  EXPECT_FALSE(returned->Take().has_value());
  copy.Clear();
  std::optional<std::string> back = returned->Take();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->data(), data);
  EXPECT_EQ(back->size(), 4096u);
  EXPECT_FALSE(returned->Take().has_value());  // taken once
}

TEST(OutputMessageTest, ABufferWhoseStreamIsGoneIsFreed) {
  auto returned = std::make_shared<ReturnedBuffer>();
  grpc::ByteBuffer message = EncodeOutputMessage(
      Chunk(OutputStream::kStderr, 1, std::string(4096, 'r')), returned);
  returned.reset();
  message.Clear();  // no crash; LeakSanitizer (ASan build) checks the free
}

TEST(OutputMessageTest, DecodesARequestAndRejectsGarbage) {
  v1::ProcessOutputRequest request;
  request.set_job_id("0b5e3b8a-4f8e-4c11-9d2a-6c1f4d1e2a3b");
  request.set_snapshot(true);
  request.set_stdout_offset(77);
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer buffer(&slice, 1);
  absl::StatusOr<v1::ProcessOutputRequest> decoded =
      DecodeOutputRequest(buffer);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->job_id(), request.job_id());
  EXPECT_TRUE(decoded->snapshot());
  EXPECT_EQ(decoded->stdout_offset(), 77);
  // The caller's buffer is left whole (decoding reads a copy).
  EXPECT_EQ(Bytes(buffer), bytes);

  const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  grpc::Slice bad(garbage.data(), garbage.size());
  grpc::ByteBuffer bad_buffer(&bad, 1);
  absl::StatusOr<v1::ProcessOutputRequest> rejected =
      DecodeOutputRequest(bad_buffer);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdctl
