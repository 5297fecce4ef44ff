#include "backup/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/process.h"

namespace stacksnap::backup {

namespace {

constexpr int kFollowerNice = 19;         // niceness of the threads following the writer (relative)
constexpr size_t kFollowBuffer = 1 << 20;  // the following copy's read/write size

// Below the capture's threads (and inherited by the threads a follower starts).
void follow_at_low_priority() { lower_this_thread_priority(kFollowerNice); }

}  // namespace

std::string spool_dir(const std::string& data_dir) { return data_dir + "/spool"; }

int clean_spool(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 9 || name.substr(name.size() - 8) != ".partial") continue;
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      ::unlink(path.c_str());
      ++removed;
    }
    ::close(fd);
  }
  ::closedir(d);
  return removed;
}

Spool::Spool(UniqueFd fd, std::string path, std::string named)
    : fd_(std::move(fd)), path_(std::move(path)), named_(std::move(named)), file_(fd_.get(), path_) {}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& dir, const std::string& id,
                                           const seal::MasterKey& key, std::optional<Follower> follower,
                                           job::Context& ctx) {
  const std::string path = dir + "/" + id + ".partial";
  std::string named;
  auto fd = TRY(create_scratch_file(dir, path, 0600, &named));
  std::unique_ptr<Spool> s(new Spool(std::move(fd), path, std::move(named)));
  if (!s->named_.empty() && ::flock(s->fd_.get(), LOCK_EX | LOCK_NB) != 0) return errno_error("lock " + path, errno);
  s->start_verify(key, ctx);
  if (follower) s->start_follower(std::move(*follower), ctx);
  return s;
}

void Spool::start_verify(const seal::MasterKey& key, job::Context& ctx) {
  auto clone = key.clone();
  if (!clone.ok()) {
    verified_ = clone.error();
    return;
  }
  verify_keys_ = std::make_unique<seal::KeySource>(seal::KeySource::from_key(std::move(*clone)));
  verifier_ = std::thread([this, &ctx] {
    follow_at_low_priority();
    GrowingFile::TailReader in(file_, ctx.stop());
    verified_ = archive::verify_archive(in, verify_keys_.get(), {.depth = archive::VerifyDepth::kDeep, .stop = ctx.stop()});
  });
}

void Spool::start_follower(Follower f, job::Context& ctx) {
  follower_ = std::move(f);
  follower_thread_ = std::thread([this, &ctx] {
    follow_at_low_priority();
    // Everything but the name, which waits for the verify: until then the target holds no
    // file of this backup at all, whatever happens.
    follower_status_ = [&]() -> Status {
      upload_ = TRY(follower_->target->put(follower_->key));
      GrowingFile::TailReader in(file_, ctx.stop());
      TRY(copy_stream(in, *upload_, kFollowBuffer));
      return upload_->prepare_commit();
    }();
  });
}

Result<archive::VerifyReport> Spool::verified(uint64_t written_bytes) {
  if (verifier_.joinable()) verifier_.join();
  if (!verified_) return internal_error("the verify of the spool did not run");
  Result<archive::VerifyReport> r = std::move(*verified_);
  verified_.reset();
  if (r.ok() && r->sealed_bytes != written_bytes) {
    return data_loss("the verify read " + std::to_string(r->sealed_bytes) + " bytes of the spool, " +
                     std::to_string(written_bytes) + " were written");
  }
  return r;
}

Status Spool::name_followed_copy() {
  if (!follower_) return failed_precondition("no copy followed the writer");
  if (follower_thread_.joinable()) follower_thread_.join();
  TRY(follower_status_);
  TRY(upload_->commit());
  named_copy_ = true;
  return {};
}

void Spool::stop_followers() {
  const bool running = verifier_.joinable() || follower_thread_.joinable();
  if (running) file_.fail(cancelled("the backup ended before its archive was complete"));
  if (verifier_.joinable()) verifier_.join();
  if (follower_thread_.joinable()) follower_thread_.join();
}

Spool::~Spool() {
  stop_followers();
  if (follower_ && named_copy_ && !committed_) (void)follower_->target->remove(follower_->key);
  upload_.reset();  // an unnamed upload just disappears
  if (!named_.empty()) ::unlink(named_.c_str());
}

}  // namespace stacksnap::backup
