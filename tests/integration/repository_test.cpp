// Repository targets (docs/FORMAT.md §v2) end to end, through the CLI binary as a user runs
// it: deduplication on S3 and a v1 export of a snapshot; kill -9 during backups and prunes;
// a backup and garbage collection racing from two data dirs (two hosts) on one repository;
// one damaged pack naming exactly the snapshots that depend on it.
//
// Random kill delays come from a fixed seed (STACKSNAP_IT_SEED overrides), printed to
// stderr so a failure reproduces.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "backup_support.h"
#include "common/damage.h"
#include "base/temp_dir.h"
#include "common/build_paths.h"
#include "s3_test_env.h"
#include "storage/s3/s3_target.h"
#include "test_env.h"

namespace stacksnap::it {
// A named namespace of its own: the unity build batches this file with other tests whose
// anonymous-namespace helpers have the same names.
namespace repository_it {
namespace {

namespace s3t = storage::s3::testing;
namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string bin() { return stacksnap::build_paths::binary(); }

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::unique_ptr<BackupBed> make_bed(const std::string& format) {
  auto bed = BackupBed::create("/var/tmp", format);
  EXPECT_TRUE(bed.ok()) << (bed.ok() ? "" : bed.error().message());
  return bed.ok() ? std::move(*bed) : nullptr;
}

// `stacksnap --data-dir D ARGS` with stdout alone in `out` (stderr in `err`).
CliRun cli(const BackupBed& bed, const std::string& args) {
  std::string err;
  return bed.run(args, &err);
}

std::string backup_id_of(const CliRun& r) { return r.summary.is_null() ? "" : r.summary.value("backup_id", ""); }

// The one JSON document a `--json` command (repo check, repo prune) printed; null if none.
Json json_doc(const CliRun& r) {
  for (auto it = r.events.rbegin(); it != r.events.rend(); ++it) {
    if (!it->contains("type")) return *it;
  }
  return nullptr;
}

// A CLI run from the output file of a process run in the background.
CliRun parsed_run(int exit_code, const std::string& output) {
  CliRun r;
  r.exit_code = exit_code;
  r.out = output;
  r.err = output;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    r.events.push_back(j);
    if (j.value("type", "") == "summary") r.summary = j;
  }
  return r;
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// Milliseconds of the day of an event's "ts" ("2026-12-07T08:38:31.102Z"); -1 if unreadable.
int64_t ms_of_day(const std::string& ts) {
  int h = 0, m = 0, sec = 0, ms = 0;
  const auto t = ts.find('T');
  if (t == std::string::npos || std::sscanf(ts.c_str() + t + 1, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4) return -1;
  return ((h * 60 + m) * 60 + sec) * 1000LL + ms;
}

// How long before the end of backup `r` its store step (upload.<target>: lock, ingest,
// packs, index, snapshot) began, in ms; 0 if the events do not say.
int64_t store_step_ms_before_end(const CliRun& r) {
  int64_t start = -1;
  for (const auto& e : r.events) {
    if (e.value("type", "") == "step_started" && e.value("step", "").starts_with("upload.")) {
      start = ms_of_day(e.value("ts", ""));
    }
  }
  const int64_t end = r.summary.is_null() ? -1 : ms_of_day(r.summary.value("ts", ""));
  if (start < 0 || end < 0) return 0;
  return (end - start + 86400000) % 86400000;
}

uint32_t test_seed() {
  const char* s = std::getenv("STACKSNAP_IT_SEED");
  return s && *s ? static_cast<uint32_t>(std::strtoul(s, nullptr, 10)) : 20261207u;
}

// A shell command run in the background in a process group of its own, with this process
// as its parent: a killed process is reaped here (PID 1 of a test VM may not reap orphans,
// and a zombie still "exists" for whoever asks whether the lock holder lives). Killed with
// its group on destruction when still running.
class Background {
 public:
  explicit Background(const std::string& command) {
    const std::string cmd = command;  // built before fork: the child only execs
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ > 0) ::setpgid(pid_, pid_);  // either side may win; both ask the same
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) (void)kill_and_reap();
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  struct End {
    bool killed = false;  // by our SIGKILL (else it had exited by itself)
    int exit_code = -1;
  };
  // SIGKILL to the whole group, then waitpid.
  End kill_and_reap() {
    ::kill(-pid_, SIGKILL);
    return reap(0);
  }
  // Waits for the exit; after `timeout` the group is killed (End::killed).
  End wait(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) return ended(st);
      if (r < 0) {
        reaped_ = true;
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return kill_and_reap();
  }

 private:
  End reap(int flags) {
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid_, &st, flags);
    while (r < 0 && errno == EINTR);
    if (r != pid_) {
      reaped_ = true;
      return {};
    }
    return ended(st);
  }
  End ended(int st) {
    reaped_ = true;
    End e;
    if (WIFSIGNALED(st)) {
      e.killed = WTERMSIG(st) == SIGKILL;
      e.exit_code = 128 + WTERMSIG(st);
    } else if (WIFEXITED(st)) {
      e.exit_code = WEXITSTATUS(st);
    }
    return e;
  }
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// `exec stacksnap --data-dir D ARGS >OUT 2>&1`: the CLI process itself leads the group.
std::string cli_command(const std::string& data_dir, const std::string& args, const std::string& out) {
  return "exec " + bin() + " --data-dir " + data_dir + " " + args + " >" + out + " 2>&1";
}

// `target add s3 NAME` against the test bed (default format: repository).
CliRun add_s3(const BackupBed& bed, const s3t::S3TestBed& s3, const std::string& name, const std::string& prefix) {
  const std::string secret_file = bed.data_dir() + "/" + name + ".secret-src";
  write_file(secret_file, s3.secret_key);
  return bed.run("target add s3 " + name + " --endpoint " + s3.endpoint + " --bucket " + s3.bucket + " --region " +
                 s3.region + " --prefix " + prefix + " --addressing path --access-key " + s3.access_key +
                 " --secret-key-file " + secret_file);
}

// Keys and sizes of the objects under `prefix` on the test bucket.
std::map<std::string, uint64_t> s3_objects(const s3t::S3TestBed& s3, const std::string& prefix) {
  std::map<std::string, uint64_t> out;
  auto t = storage::s3::S3Target::create(s3t::test_config(s3, prefix));
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  if (!t.ok()) return out;
  auto st = (*t)->list("", [&](const storage::ObjectInfo& o) -> Status {
    out[o.key] = o.size;
    return {};
  });
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
  return out;
}

uint64_t total_bytes(const std::map<std::string, uint64_t>& objs) {
  uint64_t n = 0;
  for (const auto& [k, size] : objs) n += size;
  return n;
}

// Pack files of a local repository: key ("data/ab/ab12…") → size.
std::map<std::string, uint64_t> local_packs(const std::string& repo) {
  std::map<std::string, uint64_t> out;
  std::error_code ec;
  if (!fs::exists(repo + "/data")) return out;
  for (const auto& e : fs::recursive_directory_iterator(repo + "/data", ec)) {
    if (e.is_regular_file()) out["data/" + fs::relative(e.path(), repo + "/data").string()] = e.file_size();
  }
  return out;
}

using testing_damage::flip_middle_byte;

std::set<std::string> backup_ids(const Json& snapshots) {
  std::set<std::string> out;
  if (!snapshots.is_array()) return out;
  for (const auto& s : snapshots) out.insert(s.value("backup_id", ""));
  return out;
}

// The backup's extract holds volumes/ and dumps/ (a v1 archive, §6.1).
void expect_export_extracts(const BackupBed& bed, const std::string& id, const std::string& tag) {
  const std::string file = bed.data_dir() + "/export-" + tag + ".stsnap";
  const std::string dir = bed.data_dir() + "/extract-" + tag;
  auto e = cli(bed, "export " + id + " --out " + file);
  ASSERT_EQ(e.exit_code, 0) << "export " << id << "\n" << describe(e) << e.out;
  // Offline: no catalog, no target; only the key file.
  auto x = run_script(bin() + " --data-dir " + bed.data_dir() + " extract " + file + " --out " + dir + " 2>&1");
  ASSERT_EQ(x.exit_code, 0) << "extract of the export of " << id << ": " << x.output;
  EXPECT_TRUE(fs::is_directory(dir + "/volumes")) << run_script("ls -la " + dir).output;
  EXPECT_TRUE(fs::is_directory(dir + "/dumps")) << run_script("ls -la " + dir).output;
  fs::remove(file);
  fs::remove_all(dir);
}

// The first problem-free `repo check NAME --deep --json`, or a failure with its report.
void expect_deep_check_clean(const BackupBed& bed, const std::string& target, const std::string& when) {
  auto c = cli(bed, "repo check " + target + " --deep --json");
  Json j = json_doc(c);
  EXPECT_EQ(c.exit_code, 0) << when << ": repo check " << target << " --deep\n" << describe(c) << "\n"
                            << (j.is_null() ? c.out : j.dump(2));
}

// ---- 1 ---------------------------------------------------------------------------------

// A file larger than 4 GiB (sizes and offsets past 32 bits in the entry lines, the export's
// tar header and the restore), an empty file and a file of a few bytes, read directly into a
// snapshot on a local repository, then restored through the export: the same bytes. The big
// file is sparse with data around the 4 GiB mark and at its end (fast to make, and the
// zeros between deduplicate into one chunk).
TEST(Repository, AFileOverFourGibibytesAndAnEmptyOneRoundTrip) {
  auto dir = TempDir::create("/var/tmp", "stacksnap-4g-");
  ASSERT_TRUE(dir.ok());
  const std::string src = dir->path() + "/src", repo = dir->path() + "/repo", out = dir->path() + "/out";
  fs::create_directories(src);
  const uint64_t size = (4ull << 30) + 12345;
  {
    std::ofstream f(src + "/big.img", std::ios::binary);
    for (uint64_t at : {uint64_t{0}, uint64_t{(4ull << 30) - 3}, uint64_t{size - 7}}) {
      f.seekp(static_cast<std::streamoff>(at));
      f << "marker!";
    }
  }
  ASSERT_EQ(fs::file_size(src + "/big.img"), size);
  std::ofstream(src + "/empty").close();
  std::ofstream(src + "/small") << "ok\n";
  auto run = [&](const std::string& args) { return run_script(bin() + " --data-dir " + dir->path() + "/data " + args); };
  ASSERT_EQ(run("key init").exit_code, 0);
  const auto t0 = Clock::now();
  auto snap = run("snapshot " + src + " --repo " + repo + " --json");
  ASSERT_EQ(snap.exit_code, 0) << snap.output;
  const Json s = Json::parse(snap.output.substr(snap.output.find('{')), nullptr, false);
  ASSERT_TRUE(s.is_object()) << snap.output;
  EXPECT_EQ(s.value("content_bytes", uint64_t{0}), size + 3);
  EXPECT_LT(s.value("uploaded_bytes", uint64_t{0}), 64u << 20) << "the zeros deduplicate";
  auto restored = run("snapshot-restore " + repo + " " + s.value("snapshot", "") + " --out " + out + " --json");
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  auto sums = run_script("cd " + src + " && sha256sum big.img empty small && cd " + out + "/binds/0 && sha256sum big.img empty small");
  ASSERT_EQ(sums.exit_code, 0) << sums.output;
  std::istringstream lines(sums.output);
  std::vector<std::string> l;
  for (std::string x; std::getline(lines, x);) l.push_back(x);
  ASSERT_EQ(l.size(), 6u) << sums.output;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(l[i], l[i + 3]);
  EXPECT_EQ(fs::file_size(out + "/binds/0/big.img"), size);
  std::fprintf(stderr, "[repository_test] 4 GiB + 12345 bytes file: snapshot and restore %.1f s\n", since(t0));
}

TEST(Repository, S3RoundTripDedupAndExport) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  const auto t0 = Clock::now();
  auto bed = make_bed("archive");
  ASSERT_TRUE(bed);
  const std::string prefix = s3t::fresh_prefix("repo");
  auto a = add_s3(*bed, s3, "s3repo", prefix);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  const std::string shop = stack_project("shop");

  auto uploaded_event = [](const CliRun& r) {
    for (const auto& e : r.events) {
      const std::string m = e.value("message", "");
      if (contains(m, "stored as snapshot") && contains(m, "uploaded")) return m;
    }
    return std::string();
  };

  auto r1 = bed->backup(shop, "--target s3repo");
  ASSERT_EQ(r1.exit_code, 0) << describe(r1);
  ASSERT_EQ(r1.summary.value("result", ""), "succeeded") << describe(r1);
  const std::string id1 = backup_id_of(r1);
  ASSERT_FALSE(id1.empty());
  EXPECT_FALSE(uploaded_event(r1).empty()) << describe(r1);
  const auto objs1 = s3_objects(s3, prefix);
  const uint64_t bytes1 = total_bytes(objs1);
  EXPECT_TRUE(objs1.count("config")) << Json(objs1).dump();
  bool has_pack = false;
  for (const auto& [k, size] : objs1) has_pack |= k.starts_with("data/");
  EXPECT_TRUE(has_pack) << Json(objs1).dump();
  for (const auto& [k, size] : objs1) EXPECT_FALSE(k.starts_with("backups/")) << "a v1 blob on a repository: " << k;

  auto r2 = bed->backup(shop, "--target s3repo");
  ASSERT_EQ(r2.exit_code, 0) << describe(r2);
  ASSERT_EQ(r2.summary.value("result", ""), "succeeded") << describe(r2);
  const std::string id2 = backup_id_of(r2);
  ASSERT_FALSE(id2.empty());
  const uint64_t bytes2 = total_bytes(s3_objects(s3, prefix));
  ASSERT_GT(bytes2, bytes1) << "the second backup stored nothing";
  const uint64_t added = bytes2 - bytes1;
  std::fprintf(stderr, "[repository_test] S3: first backup %llu bytes (%.1f s), second adds %llu (%.1f s)\n  %s\n  %s\n",
               static_cast<unsigned long long>(bytes1), r1.seconds, static_cast<unsigned long long>(added), r2.seconds,
               uploaded_event(r1).c_str(), uploaded_event(r2).c_str());
  // The shop stack is small (2 MiB in 16 chunks) and keeps writing (its dump and log
  // change): a few chunks of at least 512 KiB are new each time.
  EXPECT_LT(added * 2, bytes1) << "the second backup of a mostly unchanged project must upload < 50 % of the first: "
                               << added << " of " << bytes1 << " bytes\n" << uploaded_event(r2);

  // The catalog's copies are snapshots on the repository.
  auto list = cli(*bed, "backups --json");
  ASSERT_EQ(list.exit_code, 0) << list.out << list.err;
  Json lj = Json::parse(list.out, nullptr, false);
  ASSERT_TRUE(lj.is_array()) << list.out;
  ASSERT_EQ(lj.size(), 2u) << lj.dump(2);
  for (const auto& b : lj) {
    ASSERT_EQ(b["copies"].size(), 1u) << b.dump(2);
    EXPECT_EQ(b["copies"][0]["target"], "s3repo");
    EXPECT_TRUE(b["copies"][0]["key"].get<std::string>().starts_with("snapshots/")) << b.dump(2);
  }

  expect_deep_check_clean(*bed, "s3repo", "after two backups");
  expect_export_extracts(*bed, id1, "first");
  auto v = cli(*bed, "verify " + id1);
  EXPECT_EQ(v.exit_code, 0) << describe(v) << v.out;
  auto v2 = cli(*bed, "verify " + id2);
  EXPECT_EQ(v2.exit_code, 0) << describe(v2) << v2.out;
  std::fprintf(stderr, "[repository_test] S3RoundTripDedupAndExport: %.1f s\n", since(t0));
}

// ---- 2 ---------------------------------------------------------------------------------

TEST(Repository, KillNineDuringBackupsAndPrunesLeavesItConsistent) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  const auto t0 = Clock::now();
  const uint32_t seed = test_seed();
  std::fprintf(stderr, "[repository_test] kill -9 seed %u (STACKSNAP_IT_SEED=%u reproduces)\n", seed, seed);
  std::mt19937 rng(seed);
  auto bed = make_bed("repository");
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop");
  const std::string data = bed->data_dir();

  std::vector<std::string> good;
  double backup_s = 0;
  int64_t store_ms = 0;
  for (int i = 0; i < 2; ++i) {
    auto r = bed->backup(shop);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    ASSERT_EQ(r.summary.value("result", ""), "succeeded") << describe(r);
    good.push_back(backup_id_of(r));
    backup_s = std::max(backup_s, r.seconds);
    store_ms = std::max(store_ms, store_step_ms_before_end(r));
  }

  // Phase 1: kill -9 backups at a random moment of their run: every other one anywhere
  // (0 to 1.2 × a backup's duration), the others during the store step (the lock, the
  // packs, the index and the snapshot: the commit; short for a small project): a random
  // delay after its start event (the CLI flushes every event line).
  int killed = 0, finished = 0;
  const int max_delay_ms = static_cast<int>(backup_s * 1.2 * 1000);
  const int max_store_delay_ms = static_cast<int>(store_ms * 1.2);
  for (int i = 0; i < 20; ++i) {
    const bool in_store = i % 2 == 1;
    const int delay = std::uniform_int_distribution<int>(0, in_store ? max_store_delay_ms : max_delay_ms)(rng);
    const std::string out = data + "/bg-backup-" + std::to_string(i) + ".out";
    Background p(cli_command(data, "backup " + shop + " --json", out));
    ASSERT_TRUE(p.started());
    if (in_store) {
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (Clock::now() < deadline && !contains(read_text(out), "\"step\":\"upload.")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    auto end = p.kill_and_reap();
    if (end.killed) {
      ++killed;
      continue;
    }
    // Done before the kill: a good backup like the others.
    ++finished;
    auto r = parsed_run(end.exit_code, read_text(out));
    EXPECT_EQ(r.exit_code, 0) << "backup " << i << " (not killed) failed\n" << describe(r) << "\n" << r.out;
    if (r.exit_code == 0 && !backup_id_of(r).empty()) good.push_back(backup_id_of(r));
  }
  std::fprintf(stderr,
               "[repository_test] backups: normal %.1f s (store step %lld ms); 20 started, %d killed (delay 0..%d ms "
               "from the start, or 0..%d ms from the store step's), %d finished; %.1f s\n",
               backup_s, static_cast<long long>(store_ms), killed, max_delay_ms, max_store_delay_ms, finished, since(t0));

  // Stale locks of the dead processes are ignored; every good backup reads whole.
  expect_deep_check_clean(*bed, "local", "after 20 kill -9 of backups");
  for (const auto& id : good) {
    auto v = cli(*bed, "verify " + id);
    EXPECT_EQ(v.exit_code, 0) << "verify " << id << "\n" << describe(v) << v.out;
  }
  expect_export_extracts(*bed, good[0], "after-backup-kills");
  auto nb = bed->backup(shop);
  ASSERT_EQ(nb.exit_code, 0) << "a backup after the kills\n" << describe(nb);
  good.push_back(backup_id_of(nb));
  auto gc = cli(*bed, "repo prune local --json");
  ASSERT_EQ(gc.exit_code, 0) << "repo prune after the kills\n" << describe(gc) << gc.out;
  std::fprintf(stderr, "[repository_test] repo prune after the backup kills: %s\n", json_doc(gc).dump().c_str());
  expect_deep_check_clean(*bed, "local", "after repo prune that followed the backup kills");
  for (const auto& id : good) {  // the collection deleted the crashed backups' packs, nothing else
    auto v = cli(*bed, "verify " + id);
    EXPECT_EQ(v.exit_code, 0) << "verify " << id << " after repo prune\n" << describe(v) << v.out;
  }
  const double phase1 = since(t0);

  // Phase 2: kill -9 prunes (retention that forgets snapshots and collects; plain
  // collection) at a random moment. Their normal duration first.
  auto first = cli(*bed, "prune --project " + shop + " --keep-last 2");
  ASSERT_EQ(first.exit_code, 0) << describe(first) << first.out;
  auto measure = cli(*bed, "repo prune local");
  ASSERT_EQ(measure.exit_code, 0) << describe(measure) << measure.out;
  const double prune_s = std::max(first.seconds, measure.seconds);
  const int max_prune_delay_ms = static_cast<int>(prune_s * 1.2 * 1000);
  killed = finished = 0;
  for (int i = 0; i < 20; ++i) {
    auto b = bed->backup(shop);
    ASSERT_EQ(b.exit_code, 0) << "backup before prune " << i << "\n" << describe(b);
    const std::string newest = backup_id_of(b);
    const std::string args = i % 3 == 2 ? "repo prune local" : "prune --project " + shop + " --keep-last 2";
    const int delay = std::uniform_int_distribution<int>(0, max_prune_delay_ms)(rng);
    const std::string out = data + "/bg-prune-" + std::to_string(i) + ".out";
    Background p(cli_command(data, args, out));
    ASSERT_TRUE(p.started());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    auto end = p.kill_and_reap();
    if (end.killed) {
      ++killed;
    } else {
      ++finished;
      EXPECT_EQ(end.exit_code, 0) << args << " (not killed) failed: " << read_text(out);
    }
    auto c = cli(*bed, "repo check local --deep --json");
    ASSERT_EQ(c.exit_code, 0) << "after kill -9 of `" << args << "` " << delay << " ms in (iteration " << i
                              << ", seed " << seed << ")\n" << describe(c) << "\n" << json_doc(c).dump(2);
    auto v = cli(*bed, "verify " + newest);
    ASSERT_EQ(v.exit_code, 0) << "verify the newest backup " << newest << " after kill -9 of `" << args << "` "
                              << delay << " ms in (iteration " << i << ", seed " << seed << ")\n" << describe(v) << v.out;
  }
  std::fprintf(stderr, "[repository_test] prunes: normal %.1f s; 20 started, %d killed (delay 0..%d ms), %d finished; %.1f s\n",
               prune_s, killed, max_prune_delay_ms, finished, since(t0) - phase1);

  auto last_prune = cli(*bed, "prune --project " + shop + " --keep-last 2");
  EXPECT_EQ(last_prune.exit_code, 0) << "prune after the kills\n" << describe(last_prune) << last_prune.out;
  auto last_gc = cli(*bed, "repo prune local");
  EXPECT_EQ(last_gc.exit_code, 0) << "repo prune after the kills\n" << describe(last_gc) << last_gc.out;
  auto last = bed->backup(shop);
  ASSERT_EQ(last.exit_code, 0) << "backup after the prune kills\n" << describe(last);
  expect_deep_check_clean(*bed, "local", "at the end");
  auto v = cli(*bed, "verify " + backup_id_of(last));
  EXPECT_EQ(v.exit_code, 0) << describe(v) << v.out;
  std::fprintf(stderr, "[repository_test] KillNineDuringBackupsAndPrunesLeavesItConsistent: %.1f s\n", since(t0));
}

// ---- 3 ---------------------------------------------------------------------------------

TEST(Repository, ConcurrentBackupAndPruneNeverDeleteWhatIsReferenced) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  const auto t0 = Clock::now();
  auto bed = make_bed("repository");
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop");
  const std::string repo = bed->store_dir() + "/backups-root";

  // A second host: its own data dir with the same key and the same repository.
  auto host2 = TempDir::create("/var/tmp", "stacksnap-it-host2-");
  ASSERT_TRUE(host2.ok());
  const std::string h2 = host2->path();
  ASSERT_EQ(::chmod(h2.c_str(), 0700), 0);
  ASSERT_EQ(run_script("cp " + bed->data_dir() + "/key " + h2 + "/key && chmod 600 " + h2 + "/key").exit_code, 0);
  auto t = run_stacksnap(h2, "target add local local --path " + repo);
  ASSERT_EQ(t.exit_code, 0) << t.out << t.err;

  // Garbage the race can trip over: host 2 backs shop up, then forgets the snapshot (what
  // retention does: snapshots/<id> removed, the chunks left to the collection). Host 1's
  // backups deduplicate against those very chunks, unless a prune removed them first.
  auto g = run_stacksnap(h2, "backup " + shop + " --json");
  ASSERT_EQ(g.exit_code, 0) << describe(g);
  auto gl = run_stacksnap(h2, "backups --json");
  Json glj = Json::parse(gl.out, nullptr, false);
  ASSERT_TRUE(glj.is_array() && glj.size() == 1u) << gl.out;
  const std::string snap_key = glj[0]["copies"][0]["key"].get<std::string>();
  ASSERT_TRUE(snap_key.starts_with("snapshots/")) << glj.dump(2);
  ASSERT_TRUE(fs::remove(repo + "/" + snap_key)) << repo + "/" + snap_key;

  const std::string d1 = bed->data_dir();
  std::string backups_cmd = "for i in 1 2 3; do " + bin() + " --data-dir " + d1 + " backup " + shop + " --json >" + d1 +
                            "/race-backup-$i.out 2>&1; echo $? >" + d1 + "/race-backup-$i.rc; done";
  // Host 2, three times: new garbage (a backup of shop whose snapshot it forgets at once;
  // host 1's running backups may deduplicate against its chunks), then `repo prune`.
  std::string prunes_cmd = "for i in 1 2 3; do " + bin() + " --data-dir " + h2 + " backup " + shop + " --json >" + h2 +
                           "/race-garbage-$i.out 2>&1; echo $? >" + h2 + "/race-garbage-$i.rc; "
                           "s=$(grep -o 'stored as snapshot [0-9a-f]*' " + h2 + "/race-garbage-$i.out | head -n 1 | "
                           "cut -d' ' -f4); [ -n \"$s\" ] && rm -f " + repo + "/snapshots/$s*; " +
                           bin() + " --data-dir " + h2 + " repo prune local --json >" + h2 +
                           "/race-prune-$i.out 2>&1; echo $? >" + h2 + "/race-prune-$i.rc; done";
  Background backups(backups_cmd), prunes(prunes_cmd);
  ASSERT_TRUE(backups.started() && prunes.started());
  auto be = backups.wait(std::chrono::seconds(300));
  auto pe = prunes.wait(std::chrono::seconds(300));
  ASSERT_FALSE(be.killed) << "the backups did not end within 5 minutes";
  ASSERT_FALSE(pe.killed) << "the prunes did not end within 5 minutes";
  const double race_s = since(t0);

  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    const int rc = std::atoi(read_text(d1 + "/race-backup-" + n + ".rc").c_str());
    auto r = parsed_run(rc, read_text(d1 + "/race-backup-" + n + ".out"));
    EXPECT_EQ(rc, 0) << "backup " << n << " beside the prunes\n" << describe(r) << "\n" << r.out;
    if (rc == 0 && !backup_id_of(r).empty()) ids.push_back(backup_id_of(r));
    const int grc = std::atoi(read_text(h2 + "/race-garbage-" + n + ".rc").c_str());
    auto gr = parsed_run(grc, read_text(h2 + "/race-garbage-" + n + ".out"));
    EXPECT_EQ(grc, 0) << "host 2's backup " << n << "\n" << describe(gr) << "\n" << gr.out;
    const int prc = std::atoi(read_text(h2 + "/race-prune-" + n + ".rc").c_str());
    const std::string pout = read_text(h2 + "/race-prune-" + n + ".out");
    EXPECT_EQ(prc, 0) << "repo prune " << n << " beside the backups: " << pout;
    std::fprintf(stderr, "[repository_test] race prune %s: %s", n.c_str(), pout.c_str());
  }
  EXPECT_FALSE(ids.empty());
  for (const auto& id : ids) {
    auto v = cli(*bed, "verify " + id);
    EXPECT_EQ(v.exit_code, 0) << "verify " << id << "\n" << describe(v) << v.out;
  }
  expect_deep_check_clean(*bed, "local", "after the race");
  // And the garbage is gone once nothing runs.
  auto gc = run_stacksnap(h2, "repo prune local --json");
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  auto c = cli(*bed, "repo check local --json");
  Json cj = json_doc(c);
  EXPECT_EQ(c.exit_code, 0) << describe(c) << c.out;
  EXPECT_TRUE(cj.is_object() && cj["unreferenced_packs"].empty()) << cj.dump(2);
  for (const auto& id : ids) {
    auto v = cli(*bed, "verify " + id);
    EXPECT_EQ(v.exit_code, 0) << "verify " << id << " after the last prune\n" << describe(v) << v.out;
  }
  std::fprintf(stderr, "[repository_test] ConcurrentBackupAndPruneNeverDeleteWhatIsReferenced: race %.1f s, total %.1f s\n",
               race_s, since(t0));
}

// ---- 4 ---------------------------------------------------------------------------------

// A private Compose project of the fixture image with a volume of random bytes (chunks no
// other project has); `down -v` on destruction, whatever happened.
class PrivateStack {
 public:
  PrivateStack(std::string project, std::string dir) : project_(std::move(project)), dir_(std::move(dir)) {}
  ~PrivateStack() {
    if (up_) compose_in(dir_, project_, "down -v");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScriptResult up() {
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/docker-compose.yml")
        << "services:\n  app:\n    image: " << kFixtureApp
        << "\n    command: [\"sh\", \"-c\", \"[ -f /data/.done ] || { head -c 3000000 /dev/urandom > "
           "/data/random.bin && echo private > /data/note.txt && touch /data/.done; }; exec sleep infinity\"]\n"
           "    volumes:\n      - data:/data\nvolumes:\n  data:\n";
    up_ = true;
    return compose_in(dir_, project_, "up -d");
  }
  // Until the app has written its data (at most 60 s).
  bool wait_ready() {
    for (int i = 0; i < 600; ++i) {
      const std::string c = container_of(project_, "app");
      if (!c.empty() && run_script("docker exec " + c + " test -f /data/.done").exit_code == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  std::string project_, dir_;
  bool up_ = false;
};

TEST(Repository, OneDamagedPackNamesItsSnapshotsAndOthersStillRestore) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  ASSERT_TRUE(ensure_fixture_images().ok());
  const auto t0 = Clock::now();
  auto bed = make_bed("repository");
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop");
  const std::string repo = bed->store_dir() + "/backups-root";

  auto a = bed->backup(shop);
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  const std::string id_a = backup_id_of(a);
  const auto packs_a = local_packs(repo);  // the repository was empty: every pack is A's
  ASSERT_FALSE(packs_a.empty());

  const std::string project = stack_project("repodmg" + std::to_string(::getpid()));
  PrivateStack stack(project, bed->store_dir() + "/" + project);
  auto up = stack.up();
  ASSERT_EQ(up.exit_code, 0) << up.output;
  ASSERT_TRUE(stack.wait_ready()) << "the private stack did not write its data";
  auto b = bed->backup(project);
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  const std::string id_b = backup_id_of(b);
  const auto packs_all = local_packs(repo);
  ASSERT_GT(packs_all.size(), packs_a.size()) << "B's new chunks must be in packs of their own";
  expect_deep_check_clean(*bed, "local", "before the damage");

  // A's packs, largest first: damage one; the deep check names the snapshots depending on
  // it. The first one B does not use too is kept damaged.
  std::vector<std::pair<std::string, uint64_t>> candidates(packs_a.begin(), packs_a.end());
  std::sort(candidates.begin(), candidates.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  std::string damaged;
  Json report;
  for (const auto& [pack, size] : candidates) {
    flip_middle_byte(repo + "/" + pack);
    auto c = cli(*bed, "repo check local --deep --json");
    Json j = json_doc(c);
    EXPECT_EQ(c.exit_code, 3) << "a flipped byte in " << pack << " is a problem (exit 3)\n" << describe(c) << "\n"
                              << (j.is_null() ? c.out : j.dump(2));
    ASSERT_TRUE(j.is_object()) << c.out;
    bool problem_named = false;
    for (const auto& p : j["problems"]) problem_named |= p.value("pack", "") == pack;
    EXPECT_TRUE(problem_named) << pack << "\n" << j.dump(2);
    std::set<std::string> dependents;
    for (const auto& dp : j["damaged_snapshots"]) {
      if (dp.value("pack", "") == pack) dependents = backup_ids(dp["snapshots"]);
    }
    EXPECT_TRUE(dependents.count(id_a)) << "the damaged pack " << pack << " holds A's chunks: A must be named\n"
                                        << j.dump(2);
    EXPECT_TRUE(backup_ids(j["broken_snapshots"]).count(id_a)) << j.dump(2);
    for (const auto& dp : j["damaged_snapshots"]) {
      for (const auto& s : dp["snapshots"]) {
        if (s.value("backup_id", "") == id_a) {
          EXPECT_EQ(s.value("project", ""), shop) << j.dump(2);
        }
      }
    }
    if (!dependents.count(id_b)) {
      damaged = pack;
      report = j;
      break;
    }
    std::fprintf(stderr, "[repository_test] %s is also B's; trying the next of A's packs\n", pack.c_str());
    flip_middle_byte(repo + "/" + pack);  // undo
  }
  ASSERT_FALSE(damaged.empty()) << "every pack of A also holds chunks of B: nothing to damage for A alone";
  std::fprintf(stderr, "[repository_test] damaged %s: %s\n", damaged.c_str(), report["damaged_snapshots"].dump().c_str());
  EXPECT_FALSE(backup_ids(report["broken_snapshots"]).count(id_b)) << report.dump(2);

  // B is whole: it verifies and exports; A does not verify.
  auto vb = cli(*bed, "verify " + id_b);
  EXPECT_EQ(vb.exit_code, 0) << "verify B beside a damaged pack of A only\n" << describe(vb) << vb.out;
  const std::string file = bed->data_dir() + "/b.stsnap";
  auto eb = cli(*bed, "export " + id_b + " --out " + file);
  EXPECT_EQ(eb.exit_code, 0) << describe(eb) << eb.out;
  if (eb.exit_code == 0) {
    auto x = run_script(bin() + " --data-dir " + bed->data_dir() + " extract " + file + " --out " + bed->data_dir() +
                        "/b-extract 2>&1");
    EXPECT_EQ(x.exit_code, 0) << x.output;
    EXPECT_TRUE(fs::is_directory(bed->data_dir() + "/b-extract/volumes")) << x.output;
  }
  auto va = cli(*bed, "verify " + id_a);
  EXPECT_NE(va.exit_code, 0) << "A's pack is damaged: verify must fail\n" << describe(va) << va.out;
  std::fprintf(stderr, "[repository_test] OneDamagedPackNamesItsSnapshotsAndOthersStillRestore: %.1f s\n", since(t0));
}

}  // namespace
}  // namespace repository_it
}  // namespace stacksnap::it
