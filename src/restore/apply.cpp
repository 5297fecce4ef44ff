#include "restore/apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "archive/disk_writer.h"
#include "archive/extract.h"
#include "archive/reader.h"
#include "archive/tar_io.h"
#include "restore/helper.h"
#include "base/fd.h"
#include "base/pipe.h"
#include "base/scope.h"
#include "seal/crypto.h"

namespace stacksnap::restore {

namespace fs = std::filesystem;
using archive::EntryType;

// ---- TreeDigest ---------------------------------------------------------------------

void TreeDigest::add(const std::string& rel_path, const std::string& sha256_hex, uint64_t size, uint32_t mode,
                     uint32_t uid, uint32_t gid) {
  ++files;
  bytes += size;
  seal::Sha256 h;
  h.update(rel_path);
  h.update(std::string_view("\0", 1));
  h.update(sha256_hex);
  h.update(" " + std::to_string(size) + " " + std::to_string(mode & 07777) + " " + std::to_string(uid) + " " +
           std::to_string(gid));
  auto d = h.finish();
  for (size_t i = 0; i < x.size(); ++i) x[i] ^= d[i];
}

std::string TreeDigest::hex() const { return seal::hex_encode(x); }

namespace {

constexpr size_t kPutPipeBuffer = 4 << 20;  // between the archive pass and the PUT upload

// "volumes/x/a/b" → {"volumes/x", "a/b"}; "volumes/x" → {"volumes/x", ""}.
std::pair<std::string, std::string> split_top(const std::string& path) {
  size_t first = path.find('/');
  if (first == std::string::npos) return {path, ""};
  size_t second = path.find('/', first + 1);
  if (second == std::string::npos) return {path, ""};
  return {path.substr(0, second), path.substr(second + 1)};
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

Result<std::vector<std::string>> prepare_volumes(docker::Client& docker, const Placement& placement,
                                                 const std::string& compose_version, job::Context& ctx) {
  std::vector<std::string> created;
  for (const auto& v : placement.volumes) {
    auto existing = docker.inspect_volume(v.name);
    if (existing.ok()) {
      auto st = docker.remove_volume(v.name);
      if (!st.ok()) {
        return failed_precondition("volume " + v.name + " exists and cannot be replaced (still used by a container?): " +
                                   st.error().message());
      }
      ctx.info("removed the existing volume " + v.name, "volumes");
    } else if (existing.error().code() != Code::kNotFound) {
      return std::move(existing).error();
    }
    docker::CreateVolumeOptions o{.name = v.name, .driver = v.driver, .driver_opts = v.driver_opts, .labels = v.labels};
    if (!v.external) {
      o.labels["com.docker.compose.project"] = placement.project;
      o.labels["com.docker.compose.volume"] = v.key;
      if (!compose_version.empty()) o.labels["com.docker.compose.version"] = compose_version;
    }
    TRY_CTX(docker.create_volume(o), "create volume " + v.name);
    created.push_back(v.name);
  }
  return created;
}

Result<std::vector<std::string>> prepare_binds(const Placement& placement, job::Context& ctx) {
  std::vector<std::string> moved;
  for (const auto& b : placement.binds) {
    std::error_code ec;
    auto st = fs::symlink_status(b.host_path, ec);
    if (ec || !fs::exists(st)) continue;
    bool empty_dir = fs::is_directory(st) && fs::is_empty(b.host_path, ec) && !ec;
    if (empty_dir) continue;
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::string aside = b.host_path + ".pre-restore-" + stamp;
    if (::rename(b.host_path.c_str(), aside.c_str()) != 0) {
      return errno_error("move the existing " + b.host_path + " aside to " + aside, errno);
    }
    ctx.warn("moved the existing contents of " + b.host_path + " aside to " + aside, "binds");
    moved.push_back(aside);
  }
  return moved;
}

namespace {

// One pass over the archive's entries: volumes streamed as a tar into a helper container
// that mounts them (through the Engine), bind mounts and config files written on the host.
// Destroyed before finish(): the uploader is stopped and joined, the helper removed.
class FilesPass {
 public:
  FilesPass(docker::Client& docker, archive::EntrySource& reader, const Placement& placement,
            const ApplyOptions& options, job::Context& ctx)
      : docker_(docker),
        reader_(reader),
        placement_(placement),
        options_(options),
        ctx_(ctx),
        pipe_(kPutPipeBuffer),
        pipe_out_(pipe_),
        pipe_in_(pipe_),
        host_({.owner = ::geteuid() == 0, .xattrs = true, .verb = "restore"}) {
    for (size_t i = 0; i < placement.volumes.size(); ++i) volume_index_[placement.volumes[i].archive_dir] = i;
  }
  ~FilesPass() {
    if (uploader_.joinable()) {
      pipe_.fail(cancelled("restore pass ended"));
      uploader_.join();
    }
  }

  // The helper container and the uploader thread, when there are volumes to fill.
  Status start() {
    if (!placement_.volumes.empty()) TRY(start_upload());
    progress_.emplace(ctx_, "files", std::nullopt);
    if (placement_.configs.empty()) announce_config();
    return {};
  }

  // Every entry, in archive order; dumps/… are skipped (the engines replay them later).
  Status run() {
    for (;;) {
      if (auto st = ctx_.check_cancel("restore"); !st.ok()) return fail(std::move(st).error());
      auto next = reader_.next();
      if (!next.ok()) return fail(std::move(next).error());
      const archive::Entry* e = *next;
      if (e == nullptr) return {};
      const std::string& path = e->meta.path;
      if (starts_with(path, "volumes/")) TRY(volume_entry(*e));
      else if (starts_with(path, "binds/")) TRY(bind_entry(*e));
      else if (starts_with(path, "config/")) TRY(config_entry(*e));
    }
  }

  // After run(): closes the host writer, ends the upload, reads the volumes back when
  // asked, removes the helper.
  Result<ApplySummary> finish() {
    sum_.manifest = reader_.manifest();  // the walk ended: every entry matched it
    announce_config();
    TRY(host_.close());
    for (auto& w : host_.warnings()) sum_.warnings.push_back(std::move(w));
    if (tw_) {
      if (auto st = tw_->finish(); !st.ok()) return fail(std::move(st).error().with_context("fill volumes"));
      pipe_.close_write();
      uploader_.join();
      TRY_CTX(upload_status_, "fill volumes through the Engine");
      if (options_.check_volumes) {
        for (size_t i = 0; i < placement_.volumes.size(); ++i) {
          const auto& v = placement_.volumes[i];
          sum_.volume_readback[v.name] =
              TRY_CTX(read_back(docker_, helper_->id(), std::string(kHelperMountRoot) + "/" + std::to_string(i),
                                ctx_.stop()),
                      "read back volume " + v.name);
        }
      }
      TRY_CTX(helper_->remove(), "remove the restore helper container");
    }
    progress_->finish();
    return std::move(sum_);
  }

 private:
  Status start_upload() {
    if (options_.helper_image.empty()) return failed_precondition("no image to create the restore helper from");
    std::vector<std::string> names;
    for (const auto& v : placement_.volumes) names.push_back(v.name);
    helper_ = TRY(mount_helper(docker_, placement_.project, options_.helper_image, docker::MountSpec::Type::kVolume,
                               names, kHelperMountRoot, MountMode::kReadWrite));
    tw_ = TRY(archive::TarWriter::create(pipe_out_));
    uploader_ = std::thread([this] {
      upload_status_ =
          docker_.put_archive(helper_->id(), "/", pipe_in_, docker::Client::Overwrite::kAllow, ctx_.stop());
      if (!upload_status_.ok()) pipe_.fail(upload_status_.error());
      else pipe_.close_read();
    });
    return {};
  }

  Error fail(Error e) {
    pipe_.fail(e);
    return e;
  }

  void announce_config() {
    if (config_announced_ || !options_.on_config_restored) return;
    config_announced_ = true;
    options_.on_config_restored();
  }

  // An entry the plan has no place for: warned once per top directory.
  void not_restored(const std::string& dir) {
    if (warned_.insert(dir).second) sum_.warnings.push_back(dir + " is in the archive but not restored");
  }

  Status volume_entry(const archive::Entry& e) {
    const std::string& path = e.meta.path;
    auto [dir, rel] = split_top(path);
    auto it = volume_index_.find(dir);
    if (it == volume_index_.end()) {
      not_restored(dir);
      return {};
    }
    const std::string root = std::string(kHelperMountRoot + 1) + "/" + std::to_string(it->second);
    archive::EntryMeta m = e.meta;
    m.path = rel.empty() ? root : root + "/" + rel;
    if (m.type == EntryType::kHardlink) {
      auto [ldir, lrel] = split_top(m.link);
      if (ldir != dir || lrel.empty()) return fail(data_loss("hardlink " + path + " points outside its volume"));
      m.link = root + "/" + lrel;
    }
    Status st;
    if (m.type == EntryType::kFile) {
      st = archive::write_tar_entry(*tw_, m, &reader_.content());
      auto sha = st.ok() ? reader_.file_sha256() : Result<std::string>(st.error());
      if (!sha.ok()) st = std::move(sha).error();
      if (st.ok()) {
        sum_.volume_digests[placement_.volumes[it->second].name].add(rel, *sha, m.size, m.mode, m.uid, m.gid);
        sum_.volume_bytes += m.size;
        progress_->add(m.size);
      }
    } else {
      st = archive::write_tar_entry(*tw_, m, nullptr);
    }
    if (!st.ok()) {
      // The uploader's error (the Engine's answer) explains a broken pipe better.
      if (uploader_.joinable()) {
        pipe_.fail(st.error());
        uploader_.join();
        if (!upload_status_.ok()) return std::move(upload_status_).error().with_context("fill volumes");
      }
      return std::move(st).error().with_context("fill volumes");
    }
    ++sum_.volume_entries;
    return {};
  }

  Status bind_entry(const archive::Entry& e) {
    const std::string& path = e.meta.path;
    auto [dir, rel] = split_top(path);
    const BindTarget* b = placement_.bind_for_dir(dir);
    if (b == nullptr) {
      not_restored(dir);
      return {};
    }
    if (auto st = guard_.check(e.meta); !st.ok()) return fail(std::move(st).error());
    archive::EntryMeta m = e.meta;
    m.path = rel.empty() ? b->host_path : b->host_path + "/" + rel;
    if (m.type == EntryType::kHardlink) {
      auto [ldir, lrel] = split_top(m.link);
      if (ldir != dir) return fail(data_loss("hardlink " + path + " points outside its bind mount"));
      m.link = lrel.empty() ? b->host_path : b->host_path + "/" + lrel;
    }
    if (rel.empty()) {
      std::error_code ec;
      fs::create_directories(fs::path(b->host_path).parent_path(), ec);
    }
    uint64_t bytes = 0;
    if (auto st = host_.write(m, &reader_, e.is_stream, bytes); !st.ok()) {
      return fail(std::move(st).error().with_context("restore bind mount " + b->host_path));
    }
    if (m.type == EntryType::kFile) {
      auto sha = reader_.file_sha256();
      if (!sha.ok()) return fail(std::move(sha).error());
      sum_.bind_digests[b->index].add(rel, *sha, m.size, m.mode, m.uid, m.gid);
    }
    ++sum_.bind_entries;
    sum_.bind_bytes += bytes;
    progress_->add(bytes);
    return {};
  }

  Status config_entry(const archive::Entry& e) {
    const std::string& path = e.meta.path;
    if (e.meta.type == EntryType::kDirectory) return {};  // never chmod /var, /etc…
    const ConfigTarget* c = placement_.config_for(path);
    if (c == nullptr || e.meta.type != EntryType::kFile) {
      sum_.warnings.push_back(path + " is not a planned config file; not restored");
      return {};
    }
    archive::EntryMeta m = e.meta;
    m.path = c->host_path;
    if (placement_.mode == Mode::kInPlace) {
      std::error_code ec;
      fs::create_directories(fs::path(c->host_path).parent_path(), ec);
      if (ec) return fail(errno_error("create the directory of " + c->host_path, ec.value()));
    } else {
      // A copy's compose and env files hold the stack's secrets: 0600 in 0700 directories.
      if (auto st = make_private_dirs(placement_.working_dir, fs::path(c->host_path).parent_path().string());
          !st.ok()) {
        return fail(std::move(st).error());
      }
      m.mode = 0600;
    }
    uint64_t bytes = 0;
    if (auto st = host_.write(m, &reader_, false, bytes); !st.ok()) {
      return fail(std::move(st).error().with_context("restore config file " + c->host_path));
    }
    ++sum_.config_files;
    if (++configs_written_ == placement_.configs.size()) announce_config();
    return {};
  }

  docker::Client& docker_;
  archive::EntrySource& reader_;
  const Placement& placement_;
  const ApplyOptions& options_;
  job::Context& ctx_;

  std::unique_ptr<docker::HelperContainer> helper_;
  Pipe pipe_;
  Pipe::WriterEnd pipe_out_;
  Pipe::ReaderEnd pipe_in_;
  std::unique_ptr<archive::TarWriter> tw_;
  std::thread uploader_;
  Status upload_status_;

  std::map<std::string, size_t> volume_index_;  // archive dir → index in placement.volumes
  archive::ExtractGuard guard_;
  archive::DiskWriter host_;
  std::set<std::string> warned_;
  std::optional<job::Progress> progress_;  // from start(): its rate counts from there
  size_t configs_written_ = 0;
  bool config_announced_ = false;
  ApplySummary sum_;
};

}  // namespace

Result<ApplySummary> apply_files(docker::Client& docker, const archive::SourceOpener& open,
                                 const Placement& placement, const ApplyOptions& options, job::Context& ctx) {
  auto reader = TRY(open());  // verified before
  FilesPass pass(docker, *reader, placement, options, ctx);
  TRY(pass.start());
  TRY(pass.run());
  return pass.finish();
}

Result<HostCount> count_host_files(const std::string& path) {
  HostCount c;
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec) return errno_error("stat " + path, ec.value());
  std::set<std::pair<dev_t, ino_t>> seen;
  auto count = [&](const std::string& p) {
    struct stat sb;
    if (::lstat(p.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) return;
    if (sb.st_nlink > 1 && !seen.insert({sb.st_dev, sb.st_ino}).second) return;
    ++c.files;
    c.bytes += static_cast<uint64_t>(sb.st_size);
  };
  if (fs::is_regular_file(st)) {
    count(path);
    return c;
  }
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    count(it->path().string());
  }
  if (ec) return errno_error("walk " + path, ec.value());
  return c;
}

}  // namespace stacksnap::restore
