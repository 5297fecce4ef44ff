#include "repo/verify_stored.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "base/clock.h"
#include "base/fd.h"
#include "repo/repo.h"

namespace stacksnap::repo {

Result<archive::VerifyReport> verify_copy(catalog::Catalog& cat, const catalog::CopyRecord& copy,
                                          const seal::KeySource* keys, const StopToken& stop, Writer* keep,
                                          bool authenticate_only, UniqueFd* in_place) {
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
  if (file.valid()) *in_place = std::move(file);
  return rep;
}

Result<StoredVerification> verify_backup(catalog::Catalog& cat, const std::string& backup_id,
                                         const seal::KeySource& keys, const StopToken& stop,
                                         KeptCopy* keep, bool authenticate_only) {
  auto b = TRY(cat.get_backup(backup_id));
  if (b.copies.empty()) return not_found("backup " + backup_id + " has no stored copy");
  std::optional<Error> damaged, unreachable;
  for (const auto& copy : b.copies) {
    TRY(check_cancel(stop, "verify"));
    Result<archive::VerifyReport> rep = [&]() -> Result<archive::VerifyReport> {
      if (keep == nullptr) return verify_copy(cat, copy, &keys, stop, nullptr, authenticate_only);
      const std::string& spool = keep->spool_path;
      ::unlink(spool.c_str());
      std::string named;
      auto fd = TRY(create_scratch_file(std::filesystem::path(spool).parent_path().string(), spool, 0600, &named));
      FdWriter kept(fd.get(), spool);
      UniqueFd in_place;
      auto r = verify_copy(cat, copy, &keys, stop, &kept, authenticate_only, &in_place);
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
    if (!rep.ok() && keep != nullptr) ::unlink(keep->spool_path.c_str());
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
