#include "repo/verify_stored.h"

#include <chrono>

#include "base/clock.h"
#include "repo/repo.h"

namespace stacksnap::repo {

Result<archive::VerifyReport> verify_copy(catalog::Catalog& cat, const catalog::CopyRecord& copy,
                                          const seal::KeySource* keys, const StopToken& stop) {
  auto rec = TRY(cat.get_target(copy.target));
  auto target = TRY(open_target(rec));
  auto in = TRY_CTX(target->get(copy.key), "copy on " + copy.target);
  archive::VerifyOptions o{.depth = keys ? archive::VerifyDepth::kDeep : archive::VerifyDepth::kShallow,
                           .expected_size = copy.size,
                           .expected_sha256 = copy.sha256,
                           .stop = stop};
  auto rep = archive::verify_archive(*in, keys, o);
  if (!rep.ok()) return std::move(rep).error().with_context("copy on " + copy.target);
  return rep;
}

Result<StoredVerification> verify_backup(catalog::Catalog& cat, const std::string& backup_id,
                                         const seal::KeySource& keys, const StopToken& stop) {
  auto b = TRY(cat.get_backup(backup_id));
  if (b.copies.empty()) return not_found("backup " + backup_id + " has no stored copy");
  std::optional<Error> damaged, unreachable;
  for (const auto& copy : b.copies) {
    TRY(check_cancel(stop, "verify"));
    auto rep = verify_copy(cat, copy, &keys, stop);
    if (rep.ok()) {
      (void)cat.set_verify_result(backup_id, unix_seconds(std::chrono::system_clock::now()), "ok");
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
