#include "backup/capture.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "docker/helper_container.h"
#include "dbengine/docker_executor.h"
#include "base/clock.h"
#include "base/pipe.h"
#include "base/scope.h"

namespace stacksnap::backup {

namespace {

// Dump pipe: bounded, so memory stays flat however large the dump.
constexpr size_t kDumpPipe = 1 << 20;

// One dump file in flight: the engine writes (caller's thread), a consumer thread feeds
// the archive writer. Only one is open at a time, so the archive writer is driven by one
// thread at a time (joined before the next open).
class DumpEntryWriter final : public Writer {
 public:
  DumpEntryWriter(archive::EntrySink& w, archive::EntryMeta meta, job::Progress& progress)
      : pipe_(kDumpPipe), progress_(progress) {
    consumer_ = std::thread([this, &w, meta = std::move(meta)] {
      Pipe::ReaderEnd r(pipe_);
      Status st = w.add_stream(meta, r);
      if (!st.ok()) pipe_.fail(st.error());
      result_ = st;
    });
  }
  ~DumpEntryWriter() override {
    if (consumer_.joinable()) {
      pipe_.fail(cancelled("dump abandoned"));
      consumer_.join();
    }
  }
  Status write(Bytes data) override {
    progress_.add(data.size());
    auto st = pipe_.write(data);
    if (!st.ok() && consumer_.joinable()) {
      consumer_.join();
      if (!result_.ok()) return result_;
    }
    return st;
  }
  Status close() override {
    if (!consumer_.joinable()) return result_;
    pipe_.close_write();
    consumer_.join();
    return result_;
  }

 private:
  Pipe pipe_;
  job::Progress& progress_;
  std::thread consumer_;
  Status result_;
};

class ArchiveDumpSink final : public dbengine::DumpSink {
 public:
  ArchiveDumpSink(archive::EntrySink& w, std::string service, job::Progress& p)
      : w_(w), service_(std::move(service)), progress_(p) {}
  Result<std::unique_ptr<Writer>> open(const std::string& name) override {
    archive::EntryMeta meta;
    meta.path = "dumps/" + service_ + "/" + name;
    meta.type = archive::EntryType::kFile;
    meta.mode = 0600;
    meta.mtime_sec = unix_seconds(std::chrono::system_clock::now());
    return std::unique_ptr<Writer>(std::make_unique<DumpEntryWriter>(w_, std::move(meta), progress_));
  }

 private:
  archive::EntrySink& w_;
  std::string service_;
  job::Progress& progress_;
};

archive::DumpInfo to_archive_info(const dbengine::DumpInfo& info) {
  archive::DumpInfo a;
  a.engine = info.engine;
  a.version = info.version;
  for (const auto& c : info.counts) a.row_counts[c.database][c.table] = c.rows;
  // "databases" is the archive's own key (database → tables → rows); the engine's full
  // DumpInfo, which restores read back, goes under "info".
  a.extra = {{"tool", info.tool}, {"counts_exact", info.counts_exact}, {"info", info.to_json()}};
  Json files = Json::array();
  for (const auto& f : info.files) files.push_back({{"name", f.name}, {"kind", f.kind}, {"bytes", f.bytes}});
  a.extra["files"] = files;
  return a;
}

class CountingReader final : public Reader {
 public:
  CountingReader(Reader& in, job::Progress& p) : in_(in), p_(p) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t n = TRY(in_.read(buf));
    p_.add(n);
    return n;
  }

 private:
  Reader& in_;
  job::Progress& p_;
};

std::string tail(const std::string& s, size_t n = 600) {
  std::string t = s.size() > n ? "…" + s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

}  // namespace

Result<dbengine::DumpInfo> capture_dump(docker::Client& docker, archive::EntrySink& writer, const DumpTask& task,
                                      job::Context& ctx, const std::string& step) {
  auto info = TRY_CTX(docker.inspect_container(task.container_id), "dump " + task.service);
  auto facts = dbengine::facts_from(info);
  auto eng = TRY(dbengine::make_engine(task.engine));
  dbengine::DockerExecutor ex(docker, task.container_id, task.container_name);
  job::Progress progress(ctx, step, std::nullopt);
  ArchiveDumpSink sink(writer, task.service, progress);
  auto dump = eng->dump(ex, facts, sink, ctx);
  progress.finish();
  if (!dump.ok()) {
    return std::move(dump).error().with_context("dump " + task.engine + " in " + task.container_name);
  }
  TRY(writer.set_dump_info(task.service, to_archive_info(*dump)));
  return std::move(*dump);
}

Status capture_mount(docker::Client& docker, archive::EntrySink& writer, const std::string& image,
                     docker::MountSpec::Type type, const std::string& source, const std::string& archive_dir,
                     uint64_t estimate, job::Context& ctx, const std::string& step,
                     archive::TarEntryFilter* filter) {
  const std::string what = (type == docker::MountSpec::Type::kVolume ? "volume " : "bind mount ") + source;
  auto helper = TRY_CTX(docker::HelperContainer::create(
                            docker, {.image = image,
                                     .purpose = "capture",
                                     .mounts = {{.type = type, .source = source, .target = "/stacksnap/data",
                                                 .read_only = true, .no_copy = true}}}),
                        "capture " + what + ": create helper container from " + image);
  auto tar = TRY_CTX(docker.open_archive(helper->id(), "/stacksnap/data", ctx.stop()), "capture " + what);
  job::Progress progress(ctx, step, estimate ? std::optional<uint64_t>(estimate) : std::nullopt);
  CountingReader counted(*tar, progress);
  auto st = writer.add_tar_stream(archive_dir, counted, {.strip_components = 1, .filter = filter});
  progress.finish();
  if (!st.ok()) return std::move(st).error().with_context("capture " + what);
  return {};
}

Result<archive::TreeSummary> capture_tree(archive::EntrySink& writer, const std::string& host_path,
                                          const std::string& archive_dir, uint64_t estimate, job::Context& ctx,
                                          const std::string& step, archive::TarEntryFilter* filter) {
  job::Progress progress(ctx, step, estimate ? std::optional<uint64_t>(estimate) : std::nullopt);
  int warned = 0;
  constexpr int kMaxWarnings = 20;
  auto sum = archive::add_directory_tree(
      writer, host_path, archive_dir,
      {.filter = filter,
       .on_change =
           [&](const std::string& what) {
             if (++warned <= kMaxWarnings) ctx.warn(what, step);
           },
       .on_bytes = [&](uint64_t n) { progress.add(n); },
       .stop = ctx.stop()});
  progress.finish();
  if (!sum.ok()) return std::move(sum).error().with_context("read " + host_path);
  if (warned > kMaxWarnings) {
    ctx.warn(std::to_string(warned - kMaxWarnings) + " more file(s) changed while " + host_path + " was read", step);
  }
  return sum;
}

Status run_hook(docker::Client& docker, const HookTask& hook, job::Context& ctx, HookCancel cancel) {
  const std::string what = hook.phase + " hook in " + hook.container_name;
  StopSource local;
  const StopToken linked = cancel == HookCancel::kStop ? ctx.stop() : StopToken{};
  std::stop_callback link(linked, [&] { local.request_stop(); });
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> timed_out{false};
  std::thread timer([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, hook.timeout, [&] { return done; })) {
      timed_out = true;
      local.request_stop();
    }
  });
  auto r = docker.exec_capture(hook.container_id, {.cmd = {"sh", "-c", hook.command}}, 1 << 20, local.get_token());
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  timer.join();
  if (timed_out) {
    return deadline_exceeded(what + " did not finish within " + std::to_string(hook.timeout.count()) + " s");
  }
  if (!r.ok()) return std::move(r).error().with_context(what);
  std::string out = tail(r->out + r->err);
  if (!out.empty()) ctx.info(hook.phase + " hook (" + hook.service + "): " + ctx.redact(out));
  if (r->exit_code != 0) {
    return failed_precondition(what + " exited " + std::to_string(r->exit_code) + (out.empty() ? "" : ": " + out));
  }
  return {};
}

namespace {
thread_local uint64_t g_du_total = 0;
int du_visit(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_F && S_ISREG(st->st_mode)) g_du_total += static_cast<uint64_t>(st->st_blocks) * 512;
  return 0;
}
}  // namespace

uint64_t disk_usage(const std::string& path) {
  g_du_total = 0;
  if (::nftw(path.c_str(), du_visit, 32, FTW_PHYS) != 0) return g_du_total;
  return g_du_total;
}

}  // namespace stacksnap::backup
