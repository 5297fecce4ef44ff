#include "repo/verify_stored.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "base/clock.h"
#include "base/fd.h"
#include "repo/repo.h"

namespace stacksnap::repo {

Result<archive::VerifyReport> verify_copy(catalog::Catalog& cat, const catalog::CopyRecord& copy,
                                          const seal::KeySource* keys, const StopToken& stop, Writer* keep,
                                          bool authenticate_only) {
  auto rec = TRY(cat.get_target(copy.target));
  auto target = TRY(open_target(rec));
  auto stored = TRY_CTX(target->get(copy.key), "copy on " + copy.target);
  std::optional<TeeReader> tee;
  if (keep) tee.emplace(*stored, *keep);
  Reader* in = tee ? static_cast<Reader*>(&*tee) : stored.get();
  archive::VerifyOptions o{.depth = !keys              ? archive::VerifyDepth::kShallow
                                    : authenticate_only ? archive::VerifyDepth::kAuthenticate
                                                        : archive::VerifyDepth::kDeep,
                           .expected_size = copy.size,
                           .expected_sha256 = copy.sha256,
                           .stop = stop};
  auto rep = archive::verify_archive(*in, keys, o);
  if (!rep.ok()) return std::move(rep).error().with_context("copy on " + copy.target);
  if (tee && tee->bytes() != copy.size) {
    return data_loss("copy on " + copy.target + ": " + std::to_string(tee->bytes()) + " bytes kept, the record says " +
                     std::to_string(copy.size));
  }
  return rep;
}

Result<StoredVerification> verify_backup(catalog::Catalog& cat, const std::string& backup_id,
                                         const seal::KeySource& keys, const StopToken& stop,
                                         const std::string& keep_path, bool authenticate_only) {
  auto b = TRY(cat.get_backup(backup_id));
  if (b.copies.empty()) return not_found("backup " + backup_id + " has no stored copy");
  std::optional<Error> damaged, unreachable;
  for (const auto& copy : b.copies) {
    TRY(check_cancel(stop, "verify"));
    Result<archive::VerifyReport> rep = [&]() -> Result<archive::VerifyReport> {
      if (keep_path.empty()) return verify_copy(cat, copy, &keys, stop, nullptr, authenticate_only);
      ::unlink(keep_path.c_str());
      auto fd = TRY(open_file(keep_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      FdWriter kept(fd.get(), keep_path);
      auto r = verify_copy(cat, copy, &keys, stop, &kept, authenticate_only);
      if (r.ok() && ::fsync(fd.get()) != 0) return errno_error("fsync " + keep_path, errno);
      return r;
    }();
    if (!rep.ok() && !keep_path.empty()) ::unlink(keep_path.c_str());
    if (rep.ok()) {
      if (!authenticate_only) (void)cat.set_verify_result(backup_id, unix_seconds(std::chrono::system_clock::now()), "ok");
      return StoredVerification{copy.target, std::move(*rep)};
    }
    const Code code = rep.error().code();
    if (code == Code::kCancelled || code == Code::kUnauthenticated) return std::move(rep).error();
    if (code == Code::kDataLoss) {
      if (!damaged) damaged = std::move(rep).error();
    } else {
      unreachable = std::move(rep).error();
    }
  }
  if (damaged) {
    (void)cat.set_verify_result(backup_id, unix_seconds(std::chrono::system_clock::now()),
                                "failed: " + damaged->message());
    return *damaged;
  }
  return *unreachable;
}

}  // namespace stacksnap::repo
