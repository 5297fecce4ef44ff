#include "sqlite/scratch_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <new>
#include <vector>

namespace stacksnap::sqlite {

struct ScratchVfs::State {
  sqlite3_vfs vfs{};
  std::string name;
  std::string dir;
  sqlite3_vfs* base = nullptr;  // the default VFS: randomness, sleep, time
  UniqueFd main_fd;             // the main scratch file
  std::shared_ptr<const seal::ScratchCipher> main_cipher;
  std::vector<std::byte> buf;   // write_main's ciphertext
};

namespace {

struct File {
  sqlite3_file base;  // first member: SQLite passes File* as sqlite3_file*
  int fd;
  std::shared_ptr<const seal::ScratchCipher> cipher;
  std::vector<std::byte> buf;
};

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
ScratchVfs::State* as_state(sqlite3_vfs* v) { return static_cast<ScratchVfs::State*>(v->pAppData); }

int x_close(sqlite3_file* f) {
  File* p = as_file(f);
  ::close(p->fd);
  p->~File();
  return SQLITE_OK;
}

int x_read(sqlite3_file* f, void* out, int amt, sqlite3_int64 off) {
  File* p = as_file(f);
  auto* dst = static_cast<std::byte*>(out);
  size_t got = 0;
  while (got < static_cast<size_t>(amt)) {
    ssize_t n = ::pread(p->fd, dst + got, static_cast<size_t>(amt) - got, off + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SQLITE_IOERR_READ;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (!p->cipher->apply(static_cast<uint64_t>(off), MutableBytes(dst, got)).ok()) return SQLITE_IOERR_READ;
  if (got < static_cast<size_t>(amt)) {
    std::memset(dst + got, 0, static_cast<size_t>(amt) - got);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

Status pwrite_all(int fd, Bytes data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write the snapshot copy", errno);
    done += static_cast<size_t>(n);
  }
  return {};
}

int x_write(sqlite3_file* f, const void* in, int amt, sqlite3_int64 off) {
  File* p = as_file(f);
  p->buf.resize(static_cast<size_t>(amt));
  std::memcpy(p->buf.data(), in, static_cast<size_t>(amt));
  if (!p->cipher->apply(static_cast<uint64_t>(off), p->buf).ok()) return SQLITE_IOERR_WRITE;
  auto st = pwrite_all(p->fd, p->buf, static_cast<uint64_t>(off));
  if (st.ok()) return SQLITE_OK;
  return st.error().code() == Code::kResourceExhausted ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return ::ftruncate(as_file(f)->fd, size) == 0 ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}
int x_sync(sqlite3_file*, int) { return SQLITE_OK; }  // scratch: nothing must survive a crash
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  struct stat st {};
  if (::fstat(as_file(f)->fd, &st) != 0) return SQLITE_IOERR_FSTAT;
  *size = st.st_size;
  return SQLITE_OK;
}
int x_lock(sqlite3_file*, int) { return SQLITE_OK; }  // private to one connection
int x_unlock(sqlite3_file*, int) { return SQLITE_OK; }
int x_check_reserved(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int x_file_control(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int x_sector_size(sqlite3_file*) { return 4096; }
int x_device_characteristics(sqlite3_file*) { return 0; }

const sqlite3_io_methods kMethods = {
    1,           x_close,         x_read, x_write, x_truncate, x_sync, x_file_size, x_lock, x_unlock,
    x_check_reserved, x_file_control, x_sector_size, x_device_characteristics,
};

int x_open(sqlite3_vfs* vfs, sqlite3_filename, sqlite3_file* out, int flags, int* out_flags) {
  ScratchVfs::State* s = as_state(vfs);
  out->pMethods = nullptr;
  std::shared_ptr<const seal::ScratchCipher> cipher;
  int fd;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    fd = ::fcntl(s->main_fd.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return SQLITE_CANTOPEN;
    cipher = s->main_cipher;
  } else {
    fd = ::open(s->dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return SQLITE_CANTOPEN;
    auto c = seal::ScratchCipher::random();
    if (!c.ok()) {
      ::close(fd);
      return SQLITE_CANTOPEN;
    }
    cipher = std::make_shared<const seal::ScratchCipher>(std::move(*c));
  }
  auto* p = new (out) File{.base = {}, .fd = fd, .cipher = std::move(cipher), .buf = {}};
  p->base.pMethods = &kMethods;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char*, int) { return SQLITE_OK; }  // unnamed files: nothing to remove
int x_access(sqlite3_vfs*, const char*, int, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  std::snprintf(out, static_cast<size_t>(n), "%s", name ? name : "");
  return SQLITE_OK;
}
int x_randomness(sqlite3_vfs* v, int n, char* out) { return as_state(v)->base->xRandomness(as_state(v)->base, n, out); }
int x_sleep(sqlite3_vfs* v, int us) { return as_state(v)->base->xSleep(as_state(v)->base, us); }
int x_current_time(sqlite3_vfs* v, double* t) { return as_state(v)->base->xCurrentTime(as_state(v)->base, t); }
int x_last_error(sqlite3_vfs*, int, char*) { return 0; }
int x_current_time64(sqlite3_vfs* v, sqlite3_int64* t) {
  sqlite3_vfs* b = as_state(v)->base;
  if (b->iVersion >= 2 && b->xCurrentTimeInt64) return b->xCurrentTimeInt64(b, t);
  double d = 0;
  int rc = b->xCurrentTime(b, &d);
  *t = static_cast<sqlite3_int64>(d * 86400000.0);
  return rc;
}

std::atomic<uint64_t> g_instances{0};

}  // namespace

Result<size_t> ScratchReader::read(MutableBytes buf) {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - pos_));
  if (want == 0) return size_t{0};
  ssize_t n;
  do {
    n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(pos_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("read the snapshot copy", errno);
  if (n == 0) return data_loss("the snapshot copy ended " + std::to_string(size_ - pos_) + " bytes early");
  TRY(cipher_->apply(pos_, MutableBytes(buf.data(), static_cast<size_t>(n))));
  pos_ += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

Result<std::unique_ptr<ScratchVfs>> ScratchVfs::create(const std::string& dir) {
  // The directory must take unnamed files: a named fallback would leave the copy findable.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create an unnamed scratch file in " + dir, errno);
  auto s = std::make_unique<State>();
  s->main_fd = UniqueFd(fd);
  s->main_cipher = std::make_shared<const seal::ScratchCipher>(TRY(seal::ScratchCipher::random()));
  s->dir = dir;
  s->name = "stacksnap-scratch-" + std::to_string(::getpid()) + "-" + std::to_string(++g_instances);
  s->base = sqlite3_vfs_find(nullptr);
  if (s->base == nullptr) return internal_error("SQLite has no default VFS");
  sqlite3_vfs& v = s->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(File));
  v.mxPathname = 512;
  v.zName = s->name.c_str();
  v.pAppData = s.get();
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_last_error;
  v.xCurrentTimeInt64 = x_current_time64;
  if (int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK) {
    return internal_error(std::string("register the scratch VFS: ") + sqlite3_errstr(rc));
  }
  return std::unique_ptr<ScratchVfs>(new ScratchVfs(std::move(s)));
}

ScratchVfs::ScratchVfs(std::unique_ptr<State> s) : s_(std::move(s)) {}

ScratchVfs::~ScratchVfs() { sqlite3_vfs_unregister(&s_->vfs); }

const std::string& ScratchVfs::name() const { return s_->name; }

Status ScratchVfs::write_main(uint64_t offset, Bytes data) {
  s_->buf.assign(data.begin(), data.end());
  TRY(s_->main_cipher->apply(offset, s_->buf));
  return pwrite_all(s_->main_fd.get(), s_->buf, offset);
}

Result<std::unique_ptr<ScratchReader>> ScratchVfs::main_file(uint64_t size) const {
  int fd = ::fcntl(s_->main_fd.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return errno_error("keep the snapshot copy", errno);
  return std::make_unique<ScratchReader>(UniqueFd(fd), s_->main_cipher, size);
}

Result<uint64_t> ScratchVfs::main_file_size() const {
  struct stat st {};
  if (::fstat(s_->main_fd.get(), &st) != 0) return errno_error("stat the snapshot copy", errno);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace stacksnap::sqlite
