#include "storage/local/local_target.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/fd.h"

namespace stacksnap::storage {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kUploadMarker = ".upload-";

bool is_upload_tmp(const std::string& name) {
  return !name.empty() && name[0] == '.' && name.find(kUploadMarker) != std::string::npos;
}

Status mkdirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error("create directory " + dir, ec.value());
  return {};
}

// A name "<dir>/.<file>.upload-XXXXXX" for an upload file of `final_path` (mkostemp's
// template).
std::string upload_template(const std::string& final_path) {
  fs::path p(final_path);
  return p.parent_path().string() + "/." + p.filename().string() + std::string(kUploadMarker) + "XXXXXX";
}

// Where the file system can, an upload is written to an unnamed file (O_TMPFILE) that
// gets a name only in commit(): an upload that dies (a killed process) leaves nothing
// behind, its space freed with its last descriptor. Elsewhere (NFS, …) to a named
// ".upload-" file, removed on abort and by cleanup_stale() once stale.
class LocalUpload final : public Upload {
 public:
  // `tmp` empty: `fd` is an unnamed file.
  LocalUpload(UniqueFd fd, std::string tmp, std::string final_path, std::string dir)
      : fd_(std::move(fd)), tmp_(std::move(tmp)), final_(std::move(final_path)), dir_(std::move(dir)) {}
  ~LocalUpload() override { abort(); }

  Status write(Bytes data) override {
    if (!fd_.valid()) return failed_precondition("upload of " + final_ + " is already closed");
    Status st = write_all(fd_.get(), data, final_);
    if (!st.ok()) return st;
    written_ += data.size();
    start_writeback();
    return {};
  }

  Status prepare_commit() override {
    if (!fd_.valid()) return failed_precondition("upload of " + final_ + " is already closed");
    if (::fsync(fd_.get()) != 0) return errno_error("fsync the upload of " + final_, errno);
    return {};
  }

  Status commit() override {
    if (!fd_.valid()) return failed_precondition("upload of " + final_ + " is already closed");
    if (::fsync(fd_.get()) != 0) return errno_error("fsync the upload of " + final_, errno);
    if (tmp_.empty()) TRY(give_name());
    TRY(fd_.close());
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) return errno_error("rename " + tmp_ + " to " + final_, errno);
    tmp_.clear();
    return fsync_dir(dir_);
  }

  void abort() override {
    fd_.reset();
    if (!tmp_.empty()) {
      ::unlink(tmp_.c_str());
      tmp_.clear();
    }
  }

  uint64_t bytes_written() const override { return written_; }

  // The first `size` bytes of the file open as `src` (from offset 0), copied inside the
  // kernel (copy_file_range: no trip through user memory; a reflink where the file system
  // can) in 64 MiB steps that report progress. False, with nothing copied, when the kernel
  // cannot copy between these two files.
  Result<bool> copy_in_kernel(int src, uint64_t size, const std::function<Status(uint64_t)>& progress) {
    constexpr uint64_t kStep = 64ull << 20;
    off64_t in_off = 0;
    while (static_cast<uint64_t>(in_off) < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kStep, size - static_cast<uint64_t>(in_off)));
      ssize_t n = ::copy_file_range(src, &in_off, fd_.get(), nullptr, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && in_off == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        return false;
      }
      if (n < 0) return errno_error("copy into " + tmp_, errno);
      if (n == 0) {
        return data_loss("the file to store as " + final_ + " ended at " + std::to_string(in_off) + " bytes, " +
                         std::to_string(size) + " were announced (was it changed meanwhile?)");
      }
      written_ += static_cast<uint64_t>(n);
      start_writeback();
      if (progress) TRY(progress(static_cast<uint64_t>(in_off)));
    }
    return true;
  }

 private:
  // Starts the disk writes of every whole step written since the last call, without
  // waiting for them: the data streams to disk while more arrives, the fsync in commit()
  // finds little left, and a large upload never piles up gigabytes of dirty pages.
  void start_writeback() {
    constexpr uint64_t kWritebackStep = 32ull << 20;
    if (written_ - flushed_ < kWritebackStep) return;
    const uint64_t end = written_ - written_ % kWritebackStep;
    (void)::sync_file_range(fd_.get(), static_cast<off64_t>(flushed_), static_cast<off64_t>(end - flushed_),
                            SYNC_FILE_RANGE_WRITE);  // advisory: commit()'s fsync is what counts
    flushed_ = end;
  }

  // Links the unnamed file under a fresh upload name (renamed to the final one next): the
  // only moment a crash can leave an upload file behind.
  Status give_name() {
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string name = upload_template(final_);
      name.resize(name.size() - 6);
      static const char* kAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
      thread_local std::mt19937_64 rng{std::random_device{}()};
      for (int i = 0; i < 6; ++i) name.push_back(kAlnum[rng() % 36]);
      int rc = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW);
      if (rc != 0 && errno == ENOENT) rc = ::linkat(fd_.get(), "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH);  // no /proc
      if (rc == 0) {
        tmp_ = std::move(name);
        return {};
      }
      if (errno != EEXIST) return errno_error("give the upload of " + final_ + " a name", errno);
    }
    return internal_error("give the upload of " + final_ + " a name: every name tried exists");
  }

  UniqueFd fd_;
  std::string tmp_, final_, dir_;
  uint64_t written_ = 0;
  uint64_t flushed_ = 0;  // writeback started up to here
};

class RangeReader final : public Reader {
 public:
  RangeReader(UniqueFd fd, std::string name, std::optional<uint64_t> left)
      : fd_(std::move(fd)), name_(std::move(name)), left_(left) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t want = buf.size();
    if (left_) want = static_cast<size_t>(std::min<uint64_t>(want, *left_));
    if (want == 0) return size_t{0};
    FdReader r(fd_.get(), name_);
    size_t n = TRY(r.read(buf.first(want)));
    if (left_) *left_ -= n;
    return n;
  }

 private:
  UniqueFd fd_;
  std::string name_;
  std::optional<uint64_t> left_;
};

SystemTime mtime_of(const struct stat& st) {
  return SystemTime(std::chrono::seconds(st.st_mtim.tv_sec)) +
         std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
}

}  // namespace

Result<std::unique_ptr<LocalTarget>> LocalTarget::create(const std::string& root) {
  if (root.empty() || root[0] != '/') return invalid_argument("local target path must be absolute: '" + root + "'");
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  std::error_code ec;
  if (!fs::exists(r, ec)) {
    TRY(mkdirs(r));
    ::chmod(r.c_str(), 0700);
  } else if (!fs::is_directory(r, ec)) {
    return invalid_argument("local target path is not a directory: " + r);
  }
  return std::unique_ptr<LocalTarget>(new LocalTarget(r));
}

Result<std::unique_ptr<Upload>> LocalTarget::put(const std::string& key, uint64_t) {
  TRY(validate_key(key));
  std::string final_path = path_of(key);
  fs::path p(final_path);
  std::string dir = p.parent_path().string();
  TRY(mkdirs(dir));
  std::string tmp;  // stays empty for an unnamed file
  auto fd = TRY_CTX(create_scratch_file(dir, upload_template(final_path), 0600, &tmp), "create upload file");
  return std::unique_ptr<Upload>(new LocalUpload(std::move(fd), tmp, final_path, dir));
}

Status LocalTarget::put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts) {
  auto up = TRY(put(key, size));
  if (TRY(static_cast<LocalUpload&>(*up).copy_in_kernel(fd, size, opts.progress))) return up->commit();
  up.reset();                                     // aborted: nothing was copied
  return Target::put_file(key, fd, size, opts);  // read/write through put()
}

Result<std::unique_ptr<Reader>> LocalTarget::get(const std::string& key, GetRange range) {
  TRY(validate_key(key));
  std::string path = path_of(key);
  auto fd = TRY(open_file(path, O_RDONLY));
  if (range.offset > 0 && ::lseek(fd.get(), static_cast<off_t>(range.offset), SEEK_SET) < 0) {
    return errno_error("seek " + path, errno);
  }
  return std::unique_ptr<Reader>(new RangeReader(std::move(fd), path, range.length));
}

Result<ObjectInfo> LocalTarget::stat(const std::string& key) {
  TRY(validate_key(key));
  struct stat st{};
  std::string path = path_of(key);
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return not_found(path + " is not a regular file");
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size), mtime_of(st)};
}

Status LocalTarget::list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> found;
  std::error_code ec;
  // Walk only the directory part of the prefix.
  std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  std::string start = dir_part.empty() ? root_ : root_ + "/" + dir_part;
  if (!fs::exists(start, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(start, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    if (is_upload_tmp(name)) continue;
    std::string key = it->path().string().substr(root_.size() + 1);
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    found.push_back({key, static_cast<uint64_t>(st.st_size), mtime_of(st)});
  }
  if (ec) return errno_error("list " + start, ec.value());
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  for (const auto& o : found) TRY(fn(o));
  return {};
}

Status LocalTarget::remove(const std::string& key) {
  TRY(validate_key(key));
  std::string path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path, errno);
  return {};
}

Result<int> LocalTarget::cleanup_stale(std::chrono::seconds older_than) {
  int n = 0;
  std::error_code ec;
  auto cutoff = std::chrono::system_clock::now() - older_than;
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || !is_upload_tmp(it->path().filename().string())) continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    if (mtime_of(st) > cutoff) continue;
    if (::unlink(it->path().c_str()) == 0) ++n;
  }
  return n;
}

}  // namespace stacksnap::storage
