#include "repo/verify_stored.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "base/clock.h"
#include "base/fd.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
#include "seal/crypto.h"

namespace stacksnap::repo {

namespace {

// A copy that is a snapshot of a repository target. Shallow: the snapshot object is
// there and its bytes match its name. Otherwise it is read in place (OpenSnapshot::verify)
// and, for a restore, kept open to be applied from.
Result<archive::VerifyReport> verify_snapshot_copy(std::shared_ptr<storage::Target> target,
                                                   const catalog::CopyRecord& copy, const std::string& snapshot_id,
                                                   const CopyVerifyOptions& o, const StopToken& stop) {
  if (o.depth == archive::VerifyDepth::kShallow) {
    const std::string sealed = TRY_CTX(storage::get_small(*target, copy.key, 1u << 30), "copy on " + copy.target);
    const std::string sha = seal::hex_encode(seal::Sha256::of(as_bytes(sealed)));
    if (sha != snapshot_id) return data_loss("copy on " + copy.target + ": snapshot " + snapshot_id + " does not match its name");
    archive::VerifyReport rep;
    rep.sealed_bytes = sealed.size();
    rep.sealed_sha256 = sha;
    return rep;
  }
  // Read in place: every chunk authenticated (kDeep: every file checked against its SHA-256).
  auto snap = TRY_CTX(OpenSnapshot::open(std::move(target), snapshot_id, *o.keys, stop), "copy on " + copy.target);
  auto rep = snap->verify(o.depth, stop);
  if (!rep.ok()) return std::move(rep).error().with_context("copy on " + copy.target);
  if (o.keep_snapshot) *o.keep_snapshot = std::move(snap);
  return rep;
}

}  // namespace

Result<archive::VerifyReport> verify_copy(catalog::Catalog& cat, const catalog::CopyRecord& copy,
                                          const CopyVerifyOptions& o, const StopToken& stop) {
  if (o.depth != archive::VerifyDepth::kShallow && o.keys == nullptr) {
    return invalid_argument("copy on " + copy.target + ": a deep or authenticating verify needs the key");
  }
  if (const std::string snapshot_id = snapshot_id_of_key(copy.key); !snapshot_id.empty()) {
    auto rec = TRY(cat.get_target(copy.target));
    std::shared_ptr<storage::Target> target = TRY(open_target(rec));
    return verify_snapshot_copy(std::move(target), copy, snapshot_id, o, stop);
  }
  Writer* keep = o.keep;
  UniqueFd* in_place = o.in_place;
  auto rec = TRY(cat.get_target(copy.target));
  auto target = TRY(open_target(rec));
  std::unique_ptr<Reader> stored;
  UniqueFd file;
  std::optional<std::string> local = in_place ? target->local_file(copy.key) : std::nullopt;
  if (local) {
    auto fd = open_file(*local, O_RDONLY | O_CLOEXEC);
    if (!fd.ok() && fd.error().code() == Code::kNotFound) {
      return not_found("copy on " + copy.target + ": " + copy.key + " is missing");
    }
    file = TRY_CTX(std::move(fd), "copy on " + copy.target);
    stored = std::make_unique<FdReader>(file.get(), *local);
    keep = nullptr;
  } else {
    stored = TRY_CTX(target->get(copy.key), "copy on " + copy.target);
  }
  std::optional<TeeReader> tee;
  if (keep) tee.emplace(*stored, *keep);
  Reader* in = tee ? static_cast<Reader*>(&*tee) : stored.get();
  archive::VerifyOptions vo{
      .depth = o.depth, .expected_size = copy.size, .expected_sha256 = copy.sha256, .stop = stop};
  auto rep = archive::verify_archive(*in, o.depth == archive::VerifyDepth::kShallow ? nullptr : o.keys, vo);
  if (!rep.ok()) return std::move(rep).error().with_context("copy on " + copy.target);
  if (tee && tee->bytes() != copy.size) {
    return data_loss("copy on " + copy.target + ": " + std::to_string(tee->bytes()) + " bytes kept, the record says " +
                     std::to_string(copy.size));
  }
  if (file.valid()) *in_place = std::move(file);
  return rep;
}

catalog::CopyState copy_state_for(const Result<archive::VerifyReport>& r) {
  if (r.ok()) return catalog::CopyState::kVerified;
  const Code code = r.error().code();
  return code == Code::kDataLoss || code == Code::kNotFound ? catalog::CopyState::kDamaged
                                                            : catalog::CopyState::kUnreachable;
}

namespace {

int64_t now_s() { return unix_seconds(std::chrono::system_clock::now()); }

// What a verified copy was checked for.
std::string verified_detail(const archive::VerifyReport& rep) {
  if (rep.deep) {
    return "deep: " + std::to_string(rep.files) + " files, " + human_bytes(rep.content_bytes) +
           " authenticated, decompressed and hashed";
  }
  if (!rep.key_fingerprint.empty()) return "authenticated: every segment, size and SHA-256";
  return "shallow: size and SHA-256 match the catalog";
}

CopyCheck classify(const catalog::CopyRecord& copy, Result<archive::VerifyReport> r) {
  CopyCheck c{.copy = copy, .state = copy_state_for(r)};
  if (r.ok()) c.report = std::move(*r);
  else c.error = std::move(r).error();
  return c;
}

}  // namespace

Status record_copy_check(catalog::Catalog& cat, const std::string& backup_id, const CopyCheck& check) {
  return cat.set_copy_verify(backup_id, check.copy.target, check.state, now_s(),
                             check.error ? check.error->message() : verified_detail(check.report));
}

Result<CopyCheck> check_copy(catalog::Catalog& cat, const std::string& backup_id, const catalog::CopyRecord& copy,
                             const seal::KeySource* keys, const StopToken& stop) {
  TRY(check_cancel(stop, "verify"));
  Result<archive::VerifyReport> rep = [&]() -> Result<archive::VerifyReport> {
    // A copy on a target that is no longer configured cannot be reached (not: is gone).
    if (auto t = cat.get_target(copy.target); !t.ok()) {
      return failed_precondition("copy on " + copy.target + ": " + t.error().message());
    }
    return verify_copy(cat, copy,
                       {.depth = keys ? archive::VerifyDepth::kDeep : archive::VerifyDepth::kShallow, .keys = keys}, stop);
  }();
  if (!rep.ok() && (rep.error().code() == Code::kCancelled || rep.error().code() == Code::kUnauthenticated)) {
    return std::move(rep).error();
  }
  CopyCheck c = classify(copy, std::move(rep));
  (void)record_copy_check(cat, backup_id, c);
  return c;
}

Status record_backup_verdict(catalog::Catalog& cat, const std::string& backup_id, bool deep_verified, int64_t at) {
  auto b = TRY(cat.get_backup(backup_id));
  for (const auto& c : b.copies) {
    if (c.verify_state == catalog::CopyState::kDamaged) {
      std::string detail = c.verify_detail;
      if (!detail.starts_with("copy on ")) detail = "copy on " + c.target + ": " + detail;
      return cat.set_verify_result(backup_id, at, "failed: " + detail);
    }
  }
  if (deep_verified) return cat.set_verify_result(backup_id, at, "ok");
  return {};
}

Result<StoredVerification> verify_backup(catalog::Catalog& cat, const std::string& backup_id,
                                         const seal::KeySource& keys, const StopToken& stop,
                                         KeptCopy* keep, archive::VerifyDepth depth, const std::string& only_target) {
  if (depth == archive::VerifyDepth::kShallow) return invalid_argument("a restore's verify authenticates at least");
  auto b = TRY(cat.get_backup(backup_id));
  if (b.copies.empty()) return not_found("backup " + backup_id + " has no stored copy");
  if (!only_target.empty()) {
    std::string holders;
    for (const auto& c : b.copies) holders += (holders.empty() ? "" : ", ") + c.target;
    std::erase_if(b.copies, [&](const catalog::CopyRecord& c) { return c.target != only_target; });
    if (b.copies.empty()) {
      return not_found("backup " + backup_id + " has no copy on target " + only_target + " (copies: " + holders + ")");
    }
  }
  std::optional<Error> damaged, unreachable;
  for (const auto& copy : b.copies) {
    TRY(check_cancel(stop, "verify"));
    Result<archive::VerifyReport> rep = [&]() -> Result<archive::VerifyReport> {
      if (keep == nullptr) return verify_copy(cat, copy, {.depth = depth, .keys = &keys}, stop);
      if (!snapshot_id_of_key(copy.key).empty()) {
        return verify_copy(cat, copy, {.depth = depth, .keys = &keys, .keep_snapshot = &keep->snapshot}, stop);
      }
      const std::string& spool = keep->spool_path;
      ::unlink(spool.c_str());
      std::string named;
      auto fd = TRY(create_scratch_file(std::filesystem::path(spool).parent_path().string(), spool, 0600, &named));
      FdWriter kept(fd.get(), spool);
      UniqueFd in_place;
      auto r = verify_copy(cat, copy, {.depth = depth, .keys = &keys, .keep = &kept, .in_place = &in_place}, stop);
      if (r.ok() && in_place.valid()) {
        fd.reset();
        if (!named.empty()) ::unlink(spool.c_str());
        keep->fd = std::move(in_place);
        keep->in_place = true;
      } else if (r.ok()) {
        keep->fd = std::move(fd);
        keep->in_place = false;
        keep->named = !named.empty();
      }
      return r;
    }();
    if (!rep.ok() && keep != nullptr) {
      ::unlink(keep->spool_path.c_str());
      keep->snapshot.reset();
    }
    if (!rep.ok() && (rep.error().code() == Code::kCancelled || rep.error().code() == Code::kUnauthenticated)) {
      return std::move(rep).error();
    }
    CopyCheck check = classify(copy, std::move(rep));
    (void)record_copy_check(cat, backup_id, check);
    if (check.state == catalog::CopyState::kVerified) {
      (void)record_backup_verdict(cat, backup_id, depth == archive::VerifyDepth::kDeep, now_s());
      return StoredVerification{copy.target, std::move(check.report), copy.key};
    }
    if (check.state == catalog::CopyState::kDamaged) {
      if (!damaged) damaged = std::move(*check.error);
    } else {
      unreachable = std::move(*check.error);
    }
  }
  if (damaged) {
    (void)record_backup_verdict(cat, backup_id, false, now_s());
    return *damaged;
  }
  return *unreachable;
}

}  // namespace stacksnap::repo
