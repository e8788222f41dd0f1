// cmdctl_microbench (Google Benchmark): the per-chunk costs on the output
// path, by chunk size, to choose the chunk size by measurement:
//   - ReadChunk: what the server does per chunk before gRPC sees it: a
//     std::string of the chunk size filled by pread(2) from a page-cached
//     file (the job's output file);
//   - ProtoRoundTrip: a ProcessOutputResponse carrying the chunk serialised
//     (server) and parsed (client).
// Run: build-bench/bin/cmdctl_microbench [--benchmark_filter=...]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "benchmark/benchmark.h"
#include "cmdctl/v1/cmdctl.pb.h"

namespace {

constexpr int64_t kFileBytes = 64 << 20;

// A page-cached file of kFileBytes, removed again at exit.
int CachedFile() {
  static int fd = [] {
    char path[] = "/tmp/cmdctl-microbench.XXXXXX";
    int f = mkostemp(path, O_CLOEXEC);
    unlink(path);
    std::string block(1 << 20, 'x');
    for (int64_t i = 0; i < kFileBytes; i += block.size()) {
      if (write(f, block.data(), block.size()) < 0) abort();
    }
    return f;
  }();
  return fd;
}

void BM_ReadChunk(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  int fd = CachedFile();
  int64_t offset = 0;
  for (auto _ : state) {
    std::string data(chunk, '\0');  // as ReadOutput returns a fresh string
    ssize_t n = pread(fd, data.data(), chunk, offset);
    if (n <= 0) abort();
    data.resize(static_cast<size_t>(n));
    benchmark::DoNotOptimize(data.data());
    offset = (offset + n) % kFileBytes;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(chunk));
}
BENCHMARK(BM_ReadChunk)->RangeMultiplier(4)->Range(16 << 10, 4 << 20);

void BM_ProtoRoundTrip(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  std::string payload(chunk, 'x');
  cmdctl::v1::ProcessOutputResponse out, in;
  std::string wire;
  for (auto _ : state) {
    out.set_data(payload);
    out.set_stream(cmdctl::v1::OUTPUT_STREAM_STDOUT);
    out.SerializeToString(&wire);
    in.ParseFromString(wire);
    benchmark::DoNotOptimize(in.data().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(chunk));
}
BENCHMARK(BM_ProtoRoundTrip)->RangeMultiplier(4)->Range(16 << 10, 4 << 20);

}  // namespace

BENCHMARK_MAIN();
