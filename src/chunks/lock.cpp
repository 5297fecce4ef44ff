#include "chunks/lock.h"

#include <signal.h>
#include <cerrno>
#include <cstdio>

#include <unistd.h>

#include <random>

#include <nlohmann/json.hpp>

#include "chunks/repository.h"
#include "seal/crypto.h"

namespace stacksnap::chunks {

namespace lock_detail {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kLocksPrefix = "locks/";
constexpr std::string_view kConfigMagic = "SSRC2";  // the config's clear head: magic || repo id (16)
constexpr size_t kConfigIdSize = 16;
constexpr size_t kMaxLockObject = 64 * 1024;
constexpr ChunkId kLockBlobId{};

SystemClock system_clock;

std::string this_host() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "unknown-host";
  return host;
}

// Where a PID means this process: the kernel's boot id and this PID namespace. A lock
// whose holder shares both (and whose PID is gone) is dead for sure; a host name alone
// would not say it (containers with one host name, host networking).
std::string process_scope() {
  static const std::string scope = [] {
    std::string boot;
    if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
      char buf[64] = {};
      if (std::fgets(buf, sizeof buf, f)) boot = buf;
      std::fclose(f);
    }
    while (!boot.empty() && (boot.back() == '\n' || boot.back() == ' ')) boot.pop_back();
    char ns[128] = {};
    const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (boot.empty() || n <= 0) return std::string();
    return boot + " " + std::string(ns, static_cast<size_t>(n));
  }();
  return scope;
}

// The repository id (hex) from the clear head of the config.
Result<std::string> repo_id_of(storage::Target& target) {
  auto head = storage::get_small(target, "config", 1 << 20);
  if (!head.ok()) {
    if (head.error().code() == Code::kNotFound) return not_found("no repository at " + target.describe());
    return std::move(head).error().with_context("read the repository config");
  }
  if (head->size() < kConfigMagic.size() + kConfigIdSize || head->compare(0, kConfigMagic.size(), kConfigMagic) != 0) {
    return data_loss("the repository config at " + target.describe() + " is not a StackSnap v2 config");
  }
  return seal::hex_encode(as_bytes(std::string_view(*head).substr(kConfigMagic.size(), kConfigIdSize)));
}

Result<std::unique_ptr<BlobCodec>> lock_codec(storage::Target& target, const seal::MasterKey& key) {
  const std::string id = TRY(repo_id_of(target));
  return BlobCodec::create(TRY(repository_key(key, id, "lock")));
}

LockInfo parse_lock(BlobCodec& codec, const std::string& key, std::string_view sealed) {
  LockInfo info;
  info.key = key;
  auto plain = codec.open(BlobType::kConfig, kLockBlobId, as_bytes(sealed), kMaxLockObject);
  if (!plain.ok()) {
    info.readable = false;
    return info;
  }
  const Json j = Json::parse(*plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    info.readable = false;
    return info;
  }
  try {
    const std::string kind = j.value("kind", "");
    if (kind != "shared" && kind != "exclusive") {
      info.readable = false;
      return info;
    }
    info.kind = kind == "shared" ? LockKind::kShared : LockKind::kExclusive;
    info.host = j.value("host", "");
    info.owner = j.value("owner", "");
    info.pid = j.value("pid", int64_t{0});
    info.scope = j.value("scope", "");
    info.created = j.value("created", int64_t{0});
    info.refreshed = j.value("refreshed", int64_t{0});
  } catch (const std::exception&) {
    info.readable = false;
  }
  return info;
}

// Stale: not refreshed within the expiry (an unreadable lock: not modified within it, as
// far as the target tells; never when it does not).
bool is_stale(const LockInfo& l, SystemTime now, std::chrono::seconds expiry) {
  if (l.readable) return l.refreshed + expiry.count() < unix_seconds(now);
  return l.modified != SystemTime{} && l.modified + expiry < now;
}

// A lock of a process on this host that is gone (killed, crashed): stale at once, so a
// backup after a crash need not wait out the expiry. Same host name and PID namespace
// assumed (StackSnap runs on the host; a container sharing the host name but not its
// PIDs would see its peers' locks as dead only if their PIDs are free here).
bool holder_is_dead(const LockInfo& l, const std::string& host) {
  if (!l.readable || l.pid <= 0 || l.host != host) return false;
  if (l.scope.empty() || l.scope != process_scope()) return false;  // another boot or PID namespace: wait for expiry
  return ::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH;
}

bool conflicts(LockKind wanted, const LockInfo& other) {
  if (!other.readable) return true;
  return wanted == LockKind::kExclusive || other.kind == LockKind::kExclusive;
}

// The first live lock other than `own` that conflicts with `wanted`; stale locks are
// removed on the way when `wanted` is exclusive.
Result<std::optional<LockInfo>> find_conflict(storage::Target& target, BlobCodec& codec, LockKind wanted,
                                              const std::string& own, const LockOptions& o) {
  std::vector<storage::ObjectInfo> objects;
  TRY_CTX(target.list(std::string(kLocksPrefix),
                      [&](const storage::ObjectInfo& info) -> Status {
                        objects.push_back(info);
                        return {};
                      }),
          "list the repository's locks");
  const SystemTime now = o.clock->now();
  for (const auto& obj : objects) {
    if (obj.key == own) continue;
    auto sealed = storage::get_small(target, obj.key, kMaxLockObject);
    if (!sealed.ok()) {
      if (sealed.error().code() == Code::kNotFound) continue;  // released meanwhile
      return std::move(sealed).error().with_context("read the lock " + obj.key);
    }
    LockInfo info = parse_lock(codec, obj.key, *sealed);
    info.modified = obj.modified;
    if (is_stale(info, now, o.expiry) || holder_is_dead(info, o.host)) {
      if (wanted == LockKind::kExclusive) (void)target.remove(obj.key);  // best effort; ignored anyway
      continue;
    }
    if (conflicts(wanted, info)) return std::optional<LockInfo>(std::move(info));
  }
  return std::optional<LockInfo>();
}

Result<std::string> random_lock_key() {
  std::array<uint8_t, 16> raw{};
  TRY(seal::random_bytes(seal::byte_view_mut(raw.data(), raw.size())));
  return std::string(kLocksPrefix) + seal::hex_encode(raw);
}

}  // namespace
}  // namespace lock_detail

std::string_view lock_kind_name(LockKind k) { return k == LockKind::kShared ? "shared" : "exclusive"; }

std::string LockInfo::describe() const {
  if (!readable) {
    return "a lock that does not open with this key (" + key +
           "; another key, or damaged: remove it when no process holds it)";
  }
  return (owner.empty() ? std::string("?") : owner) + " (" + std::string(lock_kind_name(kind)) + ") on " + host +
         ", pid " + std::to_string(pid) + ", since " + format_rfc3339(std::chrono::system_clock::from_time_t(created)) +
         " (" + key + ")";
}


// ---- RepoLock ------------------------------------------------------------------------------

Result<std::string> RepoLock::sealed_object(int64_t refreshed) {
  const nlohmann::json j = {{"kind", lock_kind_name(kind_)}, {"host", options_.host}, {"pid", options_.pid},
                            {"scope", lock_detail::process_scope()}, {"owner", options_.owner},
                            {"created", created_}, {"refreshed", refreshed}};
  std::string out;
  TRY(codec_->seal(BlobType::kConfig, lock_detail::kLockBlobId, as_bytes(j.dump()), out));
  return out;
}

RepoLock::~RepoLock() { (void)release(); }

Status RepoLock::refresh() {
  std::lock_guard lk(mu_);
  if (released_) return failed_precondition("the lock " + key_ + " was released");
  if (lost_) return failed_precondition("the lock " + key_ + " was removed by another process (it was stale)");
  auto present = target_->stat(key_);
  if (!present.ok()) {
    if (present.error().code() != Code::kNotFound) return std::move(present).error().with_context("refresh the lock " + key_);
    lost_ = true;
    return failed_precondition("the lock " + key_ + " was removed by another process (it was stale)");
  }
  const int64_t now = unix_seconds(options_.clock->now());
  const std::string sealed = TRY(sealed_object(now));
  TRY_CTX(storage::put_small(*target_, key_, sealed), "refresh the lock " + key_);
  refreshed_ = now;
  return {};
}

Status RepoLock::check() const {
  if (lost_) return failed_precondition("the repository lock " + key_ + " was removed by another process (it was stale)");
  const int64_t refreshed = refreshed_;
  if (refreshed + options_.expiry.count() < unix_seconds(options_.clock->now())) {
    return failed_precondition("the repository lock " + key_ + " was last refreshed at " +
                               format_rfc3339(std::chrono::system_clock::from_time_t(refreshed)) +
                               ": others may take it for stale");
  }
  return {};
}

Status RepoLock::release() {
  if (refresher_.joinable()) {
    refresher_.request_stop();
    refresher_.join();
  }
  std::lock_guard lk(mu_);
  if (released_) return {};
  released_ = true;
  if (lost_) return {};
  TRY_CTX(target_->remove(key_), "remove the lock " + key_);
  return {};
}

void RepoLock::refresh_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(wake_mu_);
      wake_.wait_for(lk, stop, options_.refresh_every, [] { return false; });
    }
    if (stop.stop_requested()) return;
    (void)refresh();  // a failure shows in check() once the expiry has passed
    if (lost_) return;
  }
}

// ---- acquisition ---------------------------------------------------------------------------

struct LockAccess {
  static Result<std::unique_ptr<RepoLock>> acquire(storage::Target& target, const seal::MasterKey& key, LockKind kind,
                                                   LockOptions o, const StopToken& stop) {
    if (!o.clock) o.clock = &lock_detail::system_clock;
    if (o.host.empty()) o.host = lock_detail::this_host();
    if (o.pid == 0) o.pid = ::getpid();
    std::unique_ptr<RepoLock> lock(new RepoLock());
    lock->target_ = &target;
    lock->codec_ = TRY(lock_detail::lock_codec(target, key));
    lock->kind_ = kind;
    lock->options_ = o;
    lock->released_ = true;  // until acquired: the destructor has nothing to remove
    std::mt19937_64 jitter(std::random_device{}());
    const auto deadline = std::chrono::steady_clock::now() + o.wait;
    for (;;) {
      TRY(check_cancel(stop, "wait for the repository lock"));
      lock->key_ = TRY(lock_detail::random_lock_key());
      lock->created_ = unix_seconds(o.clock->now());
      lock->refreshed_ = lock->created_;
      const std::string sealed = TRY(lock->sealed_object(lock->created_));
      TRY_CTX(storage::put_small(target, lock->key_, sealed), "write the lock " + lock->key_);
      auto conflict = lock_detail::find_conflict(target, *lock->codec_, kind, lock->key_, o);
      if (conflict.ok() && !conflict->has_value()) {
        lock->released_ = false;
        break;
      }
      (void)target.remove(lock->key_);  // best effort: a lock left behind goes stale
      if (!conflict.ok()) return std::move(conflict).error();
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return unavailable("the repository at " + target.describe() + " is locked by " + (*conflict)->describe());
      }
      const auto base = o.retry_every.count() > 0 ? o.retry_every : std::chrono::milliseconds(1);
      auto pause = base + std::chrono::milliseconds(jitter() % (base.count() / 2 + 1));
      pause = std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1));
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lk(m);
      cv.wait_for(lk, stop, pause, [] { return false; });
    }
    if (o.refresh_every.count() > 0) {
      RepoLock* raw = lock.get();
      lock->refresher_ = std::jthread([raw](std::stop_token st) { raw->refresh_loop(st); });
    }
    return lock;
  }
};

Result<std::unique_ptr<RepoLock>> acquire_shared(storage::Target& target, const seal::MasterKey& key, LockOptions options,
                                                 const StopToken& stop) {
  return LockAccess::acquire(target, key, LockKind::kShared, std::move(options), stop);
}

Result<std::unique_ptr<RepoLock>> acquire_exclusive(storage::Target& target, const seal::MasterKey& key,
                                                    LockOptions options, const StopToken& stop) {
  return LockAccess::acquire(target, key, LockKind::kExclusive, std::move(options), stop);
}

Result<std::vector<LockInfo>> list_locks(storage::Target& target, const seal::MasterKey& key) {
  auto codec = TRY(lock_detail::lock_codec(target, key));
  std::vector<storage::ObjectInfo> objects;
  TRY(target.list(std::string(lock_detail::kLocksPrefix), [&](const storage::ObjectInfo& info) -> Status {
    objects.push_back(info);
    return {};
  }));
  std::vector<LockInfo> out;
  for (const auto& obj : objects) {
    auto sealed = storage::get_small(target, obj.key, lock_detail::kMaxLockObject);
    if (!sealed.ok()) {
      if (sealed.error().code() == Code::kNotFound) continue;
      return std::move(sealed).error().with_context("read the lock " + obj.key);
    }
    LockInfo info = lock_detail::parse_lock(*codec, obj.key, *sealed);
    info.modified = obj.modified;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace stacksnap::chunks
