#include "sqlite/host_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>

namespace stacksnap::sqlite {

namespace {

std::mutex g_mu;
std::map<FileId, int> g_held;  // guarded by g_mu

Result<UniqueFd> open_path(int dirfd, const std::string& name, const std::string& shown) {
  int fd;
  do {
    fd = ::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("open " + shown, errno);
  return UniqueFd(fd);
}

}  // namespace

Result<HostFile> resolve_beneath(const std::string& root, std::string_view relative) {
  HostFile f;
  f.path = relative.empty() ? root : root + "/" + std::string(relative);
  UniqueFd cur = TRY(open_path(AT_FDCWD, root, root));
  std::string walked = root;
  size_t start = 0;
  while (start < relative.size()) {
    size_t slash = relative.find('/', start);
    if (slash == std::string_view::npos) slash = relative.size();
    const std::string part(relative.substr(start, slash - start));
    if (part.empty() || part == "." || part == "..") return invalid_argument("bad path below " + root + ": " + std::string(relative));
    struct stat st {};
    if (::fstat(cur.get(), &st) != 0) return errno_error("stat " + walked, errno);
    if (!S_ISDIR(st.st_mode)) return failed_precondition(walked + " is not a directory");
    walked += "/" + part;
    cur = TRY(open_path(cur.get(), part, walked));
    start = slash + 1;
  }
  struct stat st {};
  if (::fstat(cur.get(), &st) != 0) return errno_error("stat " + f.path, errno);
  if (S_ISLNK(st.st_mode)) return failed_precondition(f.path + " is a symlink; not followed");
  f.handle = std::move(cur);
  f.id = {st.st_dev, st.st_ino};
  f.mode = st.st_mode;
  f.size = static_cast<uint64_t>(st.st_size);
  return f;
}

Result<HostFile> open_entry(int dirfd, const std::string& name, std::string path) {
  HostFile f;
  f.handle = TRY(open_path(dirfd, name, path));
  struct stat st {};
  if (::fstat(f.handle.get(), &st) != 0) return errno_error("stat " + path, errno);
  f.path = std::move(path);
  f.id = {st.st_dev, st.st_ino};
  f.mode = st.st_mode;
  f.size = static_cast<uint64_t>(st.st_size);
  return f;
}

InodeHold::InodeHold(FileId id) : id_(id) {
  std::lock_guard lock(g_mu);
  ++g_held[id];
}

InodeHold::InodeHold(InodeHold&& o) noexcept : id_(std::exchange(o.id_, std::nullopt)) {}

InodeHold::~InodeHold() {
  if (!id_) return;
  std::lock_guard lock(g_mu);
  auto it = g_held.find(*id_);
  if (it != g_held.end() && --it->second == 0) g_held.erase(it);
}

Result<std::optional<std::string>> read_head(const HostFile& file, size_t n) {
  if (!S_ISREG(file.mode)) return invalid_argument(file.path + " is not a regular file");
  // Under the registry's lock: no connection can announce (and open) the inode between
  // the check and the close below.
  std::lock_guard lock(g_mu);
  if (g_held.count(file.id)) return std::optional<std::string>();
  const std::string proc = "/proc/self/fd/" + std::to_string(file.handle.get());
  int fd;
  do {
    fd = ::open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("open " + file.path, errno);
  UniqueFd owned(fd);
  std::string head(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, head.data() + got, n - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("read " + file.path, errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  head.resize(got);
  return std::optional<std::string>(std::move(head));
}

bool still_same(const std::string& root, std::string_view relative, const HostFile& file) {
  auto again = resolve_beneath(root, relative);
  return again.ok() && again->id == file.id && S_ISREG(again->mode);
}

}  // namespace stacksnap::sqlite
