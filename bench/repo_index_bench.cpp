// The v2 repository's index in memory (chunks/index.h). Numbers go to docs/BENCHMARKS.md,
// "v2 repository index memory".
//   stacksnap_bench --benchmark_filter=RepoIndexMemory
// BM_RepoIndexMemory/<chunks>/<chunks per index file, 0: one file>: a repository in
// /var/tmp whose index names that many chunks, synthesized: one real backup of 8 MiB (its
// packs and index), then index files written directly (random ids, 16 chunks of about
// 1 MiB a pack, sealed with the repository's meta key; no pack behind them). Then, in a
// fresh child process (peak RSS reset), Repository::open and a backup of 16 MiB (the 8 MiB
// again, deduplicated against the whole index, and 8 MiB new). Reported: the index's own
// memory (Index::memory_bytes), VmRSS/VmHWM after the open and VmHWM after the backup.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "chunks/repository.h"
#include "seal/crypto.h"
#include "seal/key.h"
#include "storage/local/local_target.h"

namespace stacksnap {
namespace {

constexpr size_t kIndexBenchPackChunks = 16;

seal::MasterKey index_bench_key() {
  std::array<std::byte, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte(100 + i);
  return std::move(seal::MasterKey::from_bytes(raw)).value();
}

// The meta key as FORMAT.md §v2.2 derives it.
chunks::Key32 index_bench_meta_key(const seal::MasterKey& key, const std::string& repo_id_hex) {
  const std::string salt = std::move(seal::hex_decode(repo_id_hex)).value();
  const std::string info = "stacksnap repo v2 meta";
  chunks::Key32 out{};
  if (!seal::hkdf_sha256(key.bytes(), as_bytes(salt), as_bytes(info), seal::byte_view_mut(out.data(), out.size())).ok()) {
    std::abort();
  }
  return out;
}

// 4 MiB of random bytes, then 4 MiB of text-like bytes (a few distinct ones: compresses),
// made as they are read (so the bench's own data does not count in the peak).
class IndexBenchReader final : public Reader {
 public:
  explicit IndexBenchReader(uint64_t seed) : rng_(seed) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t n = 0;
    while (n < buf.size() && made_ < kSize) {
      if (at_ == sizeof word_) {
        word_ = rng_();
        if (made_ >= kSize / 2) word_ = 0x2020202020202020ull | (word_ & 0x0f0f0f0f0f0f0f0full);
        at_ = 0;
      }
      buf[n++] = static_cast<std::byte>(word_ >> (8 * at_++));
      ++made_;
    }
    return n;
  }

 private:
  static constexpr uint64_t kSize = 8 << 20;
  std::mt19937_64 rng_;
  uint64_t word_ = 0;
  size_t at_ = sizeof word_;
  uint64_t made_ = 0;
};

uint64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size()));
  }
  return 0;
}

// Child 1: the repository.
Status index_bench_generate(const std::string& dir, size_t chunks, size_t per_file) {
  auto target = TRY(storage::LocalTarget::create(dir));
  const auto key = index_bench_key();
  auto repo = TRY(chunks::Repository::init(*target, key));
  {
    auto w = TRY(repo->write_snapshot());
    IndexBenchReader in(1);  // the 8 MiB both backups store
    TRY(w->add_stream(in));
    TRY(w->commit(nlohmann::json{{"bench", "seed"}}));
  }
  auto meta = TRY(chunks::BlobCodec::create(index_bench_meta_key(key, repo->id())));
  std::mt19937_64 rng(chunks + per_file);
  const size_t per = per_file == 0 ? chunks : per_file;
  uint32_t pack_no = 0;
  for (size_t done = 0; done < chunks;) {
    chunks::Index file;
    const size_t in_file = std::min(per, chunks - done);
    for (size_t n = 0; n < in_file;) {
      chunks::PackId pack{};
      for (size_t i = 0; i < pack.size(); i += 8) {
        const uint64_t v = rng();
        std::memcpy(pack.data() + i, &v, 8);
      }
      ++pack_no;
      std::vector<chunks::PackEntry> entries;
      uint64_t offset = 0;
      for (size_t i = 0; i < kIndexBenchPackChunks && n < in_file; ++i, ++n) {
        chunks::PackEntry e;
        for (size_t b = 0; b < e.id.size(); b += 8) {
          const uint64_t v = rng();
          std::memcpy(e.id.data() + b, &v, 8);
        }
        e.offset = offset;
        e.raw_length = static_cast<uint32_t>(chunks::kMinSize + rng() % chunks::kNormalSize);
        e.length = static_cast<uint32_t>(e.raw_length * 3 / 4 + chunks::kBlobOverhead);
        offset += e.length;
        entries.push_back(e);
      }
      file.add_pack(pack, entries);
    }
    const std::string sealed = TRY(file.seal(*meta));
    TRY(storage::put_small(*target, "index/" + seal::hex_encode(seal::Sha256::of(as_bytes(sealed))), sealed));
    done += in_file;
  }
  return {};
}

struct IndexBenchResult {
  int ok = 0;
  uint64_t chunks = 0, index_bytes = 0;
  uint64_t start_rss_kib = 0, open_rss_kib = 0, open_hwm_kib = 0, backup_hwm_kib = 0;
  uint64_t new_chunks = 0, dedup_chunks = 0;
  double open_seconds = 0, backup_seconds = 0;
  char error[200] = {};
};

// Child 2: open + backup, peak RSS from a clean start.
IndexBenchResult index_bench_measure(const std::string& dir) {
  IndexBenchResult r;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";  // VmHWM := VmRSS
  }
  r.start_rss_kib = status_kib("VmHWM");
  auto run = [&]() -> Status {
    auto target = TRY(storage::LocalTarget::create(dir));
    const auto key = index_bench_key();
    const auto t0 = std::chrono::steady_clock::now();
    auto repo = TRY(chunks::Repository::open(*target, key));
    const auto t1 = std::chrono::steady_clock::now();
    r.open_seconds = std::chrono::duration<double>(t1 - t0).count();
    r.chunks = repo->known_blobs();
    r.index_bytes = repo->index_memory_bytes();
    r.open_rss_kib = status_kib("VmRSS");
    r.open_hwm_kib = status_kib("VmHWM");
    auto w = TRY(repo->write_snapshot());
    IndexBenchReader old(1), fresh(2);
    TRY(w->add_stream(old));
    TRY(w->add_stream(fresh));
    TRY(w->commit(nlohmann::json{{"bench", "measured"}}));
    r.backup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    r.new_chunks = w->stats().new_chunks;
    r.dedup_chunks = w->stats().chunks - w->stats().new_chunks;
    r.backup_hwm_kib = status_kib("VmHWM");
    return {};
  };
  auto st = run();
  r.ok = st.ok() ? 1 : 0;
  if (!st.ok()) std::snprintf(r.error, sizeof r.error, "%s", st.error().message().c_str());
  return r;
}

// Runs fn in a forked child; its result comes back through a pipe.
template <class T, class F>
bool index_bench_in_child(F fn, T& out) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    const T r = fn();
    const bool wrote = write(fds[1], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
    _exit(wrote ? 0 : 1);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof out) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&out) + got, sizeof out - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == sizeof out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double mib(uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

void BM_RepoIndexMemory(benchmark::State& state) {
  const auto chunks = static_cast<size_t>(state.range(0));
  const auto per_file = static_cast<size_t>(state.range(1));
  const std::string dir = "/var/tmp/stacksnap-index-bench-" + std::to_string(getpid()) + "-" + std::to_string(chunks) +
                          "-" + std::to_string(per_file);
  std::filesystem::remove_all(dir);
  struct Generated {
    int ok = 0;
    char error[200] = {};
  } gen;
  const auto g0 = std::chrono::steady_clock::now();
  const bool gen_ok = index_bench_in_child<Generated>(
      [&] {
        Generated g;
        auto st = index_bench_generate(dir, chunks, per_file);
        g.ok = st.ok() ? 1 : 0;
        if (!st.ok()) std::snprintf(g.error, sizeof g.error, "%s", st.error().message().c_str());
        return g;
      },
      gen);
  const double gen_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
  if (!gen_ok || !gen.ok) {
    state.SkipWithError((std::string("generate: ") + gen.error).c_str());
    std::filesystem::remove_all(dir);
    return;
  }
  IndexBenchResult r;
  for (auto _ : state) {
    if (!index_bench_in_child<IndexBenchResult>([&] { return index_bench_measure(dir); }, r) || !r.ok) {
      state.SkipWithError((std::string("measure: ") + r.error).c_str());
      break;
    }
  }
  std::filesystem::remove_all(dir);
  if (!r.ok) return;
  const size_t files = per_file == 0 ? 1 : (chunks + per_file - 1) / per_file;
  std::printf(
      "[ measure ] repository of %zu chunks (%zu index file%s + 1 real): index %.1f MiB (%.1f bytes/chunk), peak RSS "
      "%.1f MiB on open + backup (after open: RSS %.1f MiB, peak %.1f MiB; process at start %.1f MiB); open %.2f s, "
      "backup of 16 MiB %.2f s (%llu chunks deduplicated, %llu new); generated in %.1f s\n",
      chunks, files, files == 1 ? "" : "s", static_cast<double>(r.index_bytes) / (1 << 20),
      static_cast<double>(r.index_bytes) / static_cast<double>(r.chunks), mib(r.backup_hwm_kib), mib(r.open_rss_kib),
      mib(r.open_hwm_kib), mib(r.start_rss_kib), r.open_seconds, r.backup_seconds,
      static_cast<unsigned long long>(r.dedup_chunks), static_cast<unsigned long long>(r.new_chunks), gen_seconds);
  std::fflush(stdout);
  state.counters["chunks"] = static_cast<double>(r.chunks);
  state.counters["index_MiB"] = static_cast<double>(r.index_bytes) / (1 << 20);
  state.counters["index_B_per_chunk"] = static_cast<double>(r.index_bytes) / static_cast<double>(r.chunks);
  state.counters["peak_RSS_MiB"] = mib(r.backup_hwm_kib);
  state.counters["open_peak_MiB"] = mib(r.open_hwm_kib);
  state.counters["open_s"] = r.open_seconds;
}
BENCHMARK(BM_RepoIndexMemory)
    ->ArgsProduct({{250000, 500000, 1000000}, {2000, 65536}})  // backups write small index files; a collection files of 65536 entries
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace stacksnap
