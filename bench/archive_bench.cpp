// Archive format benchmarks (issue 3). Numbers go to docs/BENCHMARKS.md, "Archive".
//   stacksnap_bench --benchmark_filter='Archive|Seal|Repo'
// BM_Repo*: the v2 repository (issue 19, src/chunks) on the same 128 MiB corpus as
// BM_ArchiveWriterMixed, into an in-memory target: first snapshot, unchanged re-snapshot.
// The 1 GiB / 4 GiB comparison with `tar | zstd -3 -T0 | openssl enc` is
// bench/archive_pipeline.sh.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "archive/reader.h"
#include "archive/writer.h"
#include "chunks/repository.h"
#include "seal/key.h"
#include "seal/stream.h"
#include "storage/memory/memory_target.h"

namespace stacksnap {
namespace {

seal::MasterKey bench_key() {
  std::array<std::byte, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte(i);
  return std::move(seal::MasterKey::from_bytes(raw)).value();
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

// Words from a small vocabulary: compresses about 3:1 with zstd -3, like logs and SQL.
std::string text_bytes(size_t n, uint32_t seed) {
  static const char* words[] = {"select", "from", "where", "order", "customer", "invoice", "total", "status",
                                "shipped", "pending", "2026-11-25", "INFO", "WARN", "request", "id", "user",
                                "latency_ms", "GET", "/api/v1/orders", "200", "404", "true", "false", "null"};
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n + 32);
  while (s.size() < n) {
    s += words[rng() % (sizeof words / sizeof *words)];
    s += (rng() % 12 == 0) ? '\n' : ' ';
    if (rng() % 7 == 0) s += std::to_string(rng() % 100000);
  }
  s.resize(n);
  return s;
}

void BM_SealOneCore(benchmark::State& state) {
  const std::string data = random_bytes(64 << 20, 1);
  auto key = bench_key();
  for (auto _ : state) {
    NullWriter out;
    auto w = std::move(seal::SealWriter::create(out, key)).value();
    for (size_t i = 0; i < data.size(); i += 1 << 20) (void)w->write(as_bytes(std::string_view(data).substr(i, 1 << 20)));
    (void)w->close();
    benchmark::DoNotOptimize(out.count());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_SealOneCore)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_UnsealOneCore(benchmark::State& state) {
  const std::string data = random_bytes(64 << 20, 2);
  auto key = bench_key();
  StringWriter sealed;
  {
    auto w = std::move(seal::SealWriter::create(sealed, key)).value();
    (void)w->write(as_bytes(data));
    (void)w->close();
  }
  auto keys = seal::KeySource::from_key(bench_key());
  for (auto _ : state) {
    MemoryReader in(sealed.str());
    auto r = std::move(seal::SealReader::open(in, keys)).value();
    uint64_t n = 0;
    for (;;) {
      auto chunk = r->next_chunk();
      if (!chunk.ok() || chunk->empty()) break;
      n += chunk->size();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_UnsealOneCore)->Unit(benchmark::kMillisecond)->UseRealTime();

// 128 MiB in memory, half random and half text, in files of 256 KiB .. 8 MiB.
struct Corpus {
  std::vector<std::string> files;
  size_t bytes = 0;
  Corpus() {
    uint32_t seed = 10;
    for (size_t size : {8u << 20, 4u << 20, 1u << 20, 256u << 10}) {
      for (size_t total = 0; total < (16u << 20); total += size) {
        files.push_back(random_bytes(size, seed++));
        files.push_back(text_bytes(size, seed++));
        bytes += 2 * size;
      }
    }
  }
};
const Corpus& corpus() {
  static const Corpus c;
  return c;
}

std::string write_archive(const Corpus& c, NullWriter* null_out) {
  auto key = bench_key();
  StringWriter keep;
  Writer& out = null_out ? static_cast<Writer&>(*null_out) : keep;
  auto w = std::move(archive::ArchiveWriter::create(out, key)).value();
  (void)w->add_plan({{"bench", true}});
  for (size_t i = 0; i < c.files.size(); ++i) {
    MemoryReader r(c.files[i]);
    (void)w->add_file({.path = "volumes/bench/f" + std::to_string(i), .size = c.files[i].size()}, r);
  }
  auto sum = w->finish();
  if (!sum.ok()) std::abort();
  return keep.take();
}

void BM_ArchiveWriterMixed(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    NullWriter out;
    write_archive(c, &out);
    state.counters["ratio"] = static_cast<double>(out.count()) / static_cast<double>(c.bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_ArchiveWriterMixed)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

void BM_ArchiveDeepVerifyMixed(benchmark::State& state) {
  const Corpus& c = corpus();
  const std::string sealed = write_archive(c, nullptr);
  auto keys = seal::KeySource::from_key(bench_key());
  for (auto _ : state) {
    MemoryReader in(sealed);
    auto r = std::move(archive::ArchiveReader::open(in, keys)).value();
    for (;;) {
      auto e = r->next();
      if (!e.ok()) std::abort();
      if (*e == nullptr) break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_ArchiveDeepVerifyMixed)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

// One snapshot of the corpus (each file chunked, deduplicated, compressed, sealed, packed).
chunks::WriteStats repo_snapshot(chunks::Repository& repo, const Corpus& c) {
  auto w = std::move(repo.write_snapshot()).value();
  for (const auto& f : c.files) {
    MemoryReader r(f);
    if (!w->add_stream(r).ok()) std::abort();
  }
  if (!w->commit({{"bench", true}}).ok()) std::abort();
  return w->stats();
}

void BM_RepoFirstSnapshotMixed(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    storage::MemoryTarget target;
    auto key = bench_key();
    auto repo = std::move(chunks::Repository::init(target, key)).value();
    const auto st = repo_snapshot(*repo, c);
    state.counters["ratio"] = static_cast<double>(st.uploaded_bytes) / static_cast<double>(c.bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_RepoFirstSnapshotMixed)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

void BM_RepoUnchangedSnapshotMixed(benchmark::State& state) {
  const Corpus& c = corpus();
  storage::MemoryTarget target;
  auto key = bench_key();
  auto repo = std::move(chunks::Repository::init(target, key)).value();
  repo_snapshot(*repo, c);
  for (auto _ : state) {
    const auto st = repo_snapshot(*repo, c);
    state.counters["uploaded_bytes"] = static_cast<double>(st.uploaded_bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_RepoUnchangedSnapshotMixed)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace
}  // namespace stacksnap
