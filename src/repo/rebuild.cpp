#include "repo/rebuild.h"

#include <algorithm>
#include <functional>
#include <map>

#include "catalog/record_json.h"
#include "chunks/repository.h"
#include "repo/repo.h"
#include "repo/snapshot.h"

namespace stacksnap::repo {

namespace {

constexpr std::string_view kSidecarExt = ".json";
constexpr std::string_view kBlobExt = ".stsnap";
constexpr size_t kSidecarLimit = 1 << 20;  // sidecars are a few KiB; refuse anything absurd

std::string blob_beside(const std::string& sidecar) {
  return sidecar.substr(0, sidecar.size() - kSidecarExt.size()) + std::string(kBlobExt);
}

// Opens one sidecar and checks it against the listing. The record carries its copy.
Result<catalog::BackupRecord> read_one(storage::Target& target, const std::string& key,
                                       const std::map<std::string, storage::ObjectInfo>& blobs,
                                       const seal::KeySource& keys) {
  std::string text = TRY(storage::get_small(target, key, kSidecarLimit));
  Sidecar s = TRY(parse_sidecar(text));
  auto rec = open_sidecar_meta(s, keys);
  if (!rec.ok()) {
    if (rec.error().code() == Code::kUnauthenticated) {
      return unauthenticated("sealed with another key (a foreign or replaced sidecar): " + rec.error().message());
    }
    return std::move(rec).error();
  }
  // The public facts must agree with the sealed ones: a provider could edit the former.
  if (s.blob != blob_beside(key)) {
    return data_loss("sidecar names blob \"" + s.blob + "\" instead of the one beside it (tampered)");
  }
  if (s.size != rec->stored_bytes || s.sha256 != rec->sha256) {
    return data_loss("sidecar's size/SHA-256 differ from its sealed metadata (tampered)");
  }
  // Either layout: backups/<id>.json, or backups/<project>/<id>.json (readable names). The
  // name must be the sealed id and a directory the sealed project: renaming objects must
  // not make a backup look like another one or another project's.
  const size_t pre = std::string_view(kBackupsPrefix).size();
  std::string base = key.substr(pre, key.size() - std::min(key.size(), pre + kSidecarExt.size()));
  size_t slash = base.rfind('/');
  std::string name = slash == std::string::npos ? base : base.substr(slash + 1);
  if (name != rec->id) return data_loss("sidecar is named " + name + " but holds backup " + rec->id + " (renamed)");
  if (slash != std::string::npos && base.substr(0, slash) != rec->project) {
    return data_loss("sidecar lies under \"" + base.substr(0, slash) + "/\" but holds a backup of project " + rec->project +
                     " (moved)");
  }
  auto blob = blobs.find(s.blob);
  if (blob == blobs.end()) return not_found("its blob " + s.blob + " is missing");
  if (blob->second.size != s.size) {
    return data_loss("its blob has " + std::to_string(blob->second.size) + " bytes, the sidecar says " +
                     std::to_string(s.size));
  }
  catalog::CopyRecord copy{.target = "", .key = s.blob, .size = s.size, .sha256 = s.sha256,
                           .uploaded_at = unix_seconds(blob->second.modified)};
  if (copy.uploaded_at <= 0) copy.uploaded_at = s.created;
  rec->copies = {copy};
  return rec;
}

using TakeRecord = std::function<Status(const std::string& key, catalog::BackupRecord rec)>;

// The snapshots of a repository at the target's root (repo/snapshot.h): each carries the
// backup's catalog record, sealed with the repository's keys.
Status rebuild_from_repository(const catalog::TargetRecord& trec, storage::Target& target, const seal::KeySource& keys,
                               const StopToken& stop, const RebuildOptions& options, const TakeRecord& take,
                               RebuildReport& rep) {
  if (auto st = target.stat("config"); !st.ok()) {
    if (st.error().code() == Code::kNotFound) return {};
    return std::move(st).error().with_context("read the repository config on target " + trec.name);
  }
  auto repository = chunks::Repository::open(target, keys);
  if (!repository.ok()) {
    const Code c = repository.error().code();
    if (c == Code::kUnavailable || c == Code::kCancelled) return std::move(repository).error();
    rep.problems.push_back({"config", std::string(code_name(c == Code::kPermissionDenied ? Code::kUnauthenticated : c)),
                            repository.error().message()});
    return {};
  }
  std::vector<std::string> ids;
  TRY_CTX(target.list("snapshots/",
                      [&](const storage::ObjectInfo& o) -> Status {
                        ids.push_back(o.key.substr(o.key.rfind('/') + 1));
                        return {};
                      }),
          "list snapshots on target " + trec.name);
  for (const auto& id : ids) {
    TRY(check_cancel(stop, "rebuild"));
    const std::string key = snapshot_key(id);
    auto snap = load_snapshot(**repository, id);
    catalog::BackupRecord rec;
    Status read = [&]() -> Status {
      auto s = TRY(std::move(snap));
      if (!options.only_backup.empty() && s.doc.value("backup_id", "") != options.only_backup) return {};
      ++rep.sidecars;
      rec = TRY_CTX(catalog::backup_from_json(s.doc.value("record", nlohmann::json::object())), "snapshot " + id);
      if (rec.id != s.doc.value("backup_id", "")) return data_loss("snapshot " + id + ": its record names another backup");
      rec.copies = {catalog::CopyRecord{.target = trec.name, .key = key, .size = 0, .sha256 = id,
                                        .uploaded_at = rec.created_at}};
      return {};
    }();
    if (!read.ok()) {
      const Code c = read.error().code();
      if (c == Code::kUnavailable || c == Code::kCancelled) return std::move(read).error();
      rep.problems.push_back({key, std::string(code_name(c)), read.error().message()});
      continue;
    }
    if (!rec.id.empty()) TRY(take(key, std::move(rec)));
  }
  return {};
}

}  // namespace

Result<RebuildReport> rebuild_from_target(catalog::Catalog& cat, const catalog::TargetRecord& trec,
                                          storage::Target& target, const seal::KeySource& keys,
                                          const StopToken& stop, const RebuildOptions& options) {
  const std::string wanted = options.only_backup.empty() ? "" : "/" + options.only_backup + std::string(kSidecarExt);
  std::vector<std::string> sidecars;
  std::map<std::string, storage::ObjectInfo> blobs;
  TRY_CTX(target.list(kBackupsPrefix,
                      [&](const storage::ObjectInfo& o) -> Status {
                        TRY(check_cancel(stop, "rebuild"));
                        if (o.key.ends_with(kSidecarExt)) {
                          if (wanted.empty() || o.key.ends_with(wanted)) sidecars.push_back(o.key);
                        }
                        else if (o.key.ends_with(kBlobExt)) blobs.emplace(o.key, o);
                        return {};
                      }),
          "list backups on target " + trec.name);

  RebuildReport rep;
  rep.sidecars = static_cast<int>(sidecars.size());
  // A record read from the target (its one copy there) into the catalog.
  const TakeRecord take = [&](const std::string& key, catalog::BackupRecord rec) -> Status {
    auto known = cat.get_backup(rec.id);
    if (!known.ok()) {
      if (known.error().code() != Code::kNotFound) return std::move(known).error();
      TRY_CTX(cat.put_backup(rec), "record backup " + rec.id);
      rep.added_backups.push_back(rec.id);
      return {};
    }
    if (known->sha256 != rec.sha256 || known->project != rec.project) {
      rep.problems.push_back({key, std::string(code_name(Code::kDataLoss)),
                              "conflicts with the catalog's record of " + rec.id + " (other project or SHA-256)"});
      return {};
    }
    for (const auto& c : known->copies) {
      if (c.target == trec.name) {
        ++rep.already_known;
        return {};
      }
    }
    TRY_CTX(cat.add_copy(rec.id, rec.copies[0]), "record copy of " + rec.id);
    rep.added_copies.push_back(rec.id);
    return {};
  };
  std::map<std::string, bool> blob_has_sidecar;
  for (const auto& key : sidecars) {
    TRY(check_cancel(stop, "rebuild"));
    blob_has_sidecar[blob_beside(key)] = true;
    auto rec = read_one(target, key, blobs, keys);
    if (!rec.ok()) {
      // The whole target failing (credentials, network) is not one sidecar's problem.
      Code c = rec.error().code();
      if (c == Code::kPermissionDenied || c == Code::kUnavailable || c == Code::kCancelled) {
        return std::move(rec).error().with_context("read " + key + " on target " + trec.name);
      }
      rep.problems.push_back({key, std::string(code_name(c)), rec.error().message()});
      continue;
    }
    rec->copies[0].target = trec.name;
    TRY(take(key, std::move(*rec)));
  }
  TRY(rebuild_from_repository(trec, target, keys, stop, options, take, rep));
  for (const auto& [key, info] : blobs) {
    if (!blob_has_sidecar.contains(key) && wanted.empty()) ++rep.unfinished_blobs;
  }
  return rep;
}

Result<catalog::BackupRecord> find_backup(catalog::Catalog& cat, const std::string& backup_id,
                                          const seal::KeySource& keys, const StopToken& stop) {
  auto known = cat.get_backup(backup_id);
  if (known.ok() || known.error().code() != Code::kNotFound) return known;
  std::vector<std::string> searched, unreadable;
  for (const auto& rec : TRY(cat.list_targets())) {
    TRY(check_cancel(stop, "look for backup " + backup_id));
    auto found = [&]() -> Status {
      auto target = TRY(open_target(rec));
      auto rep = TRY(rebuild_from_target(cat, rec, *target, keys, stop, {.only_backup = backup_id}));
      if (rep.problems.empty()) return {};
      return Error(Code::kDataLoss, rep.problems[0].key + ": " + rep.problems[0].message);
    }();
    if (!found.ok()) unreadable.push_back(rec.name + " (" + found.error().message() + ")");
    else searched.push_back(rec.name);
    auto now = cat.get_backup(backup_id);
    if (now.ok()) return now;
  }
  std::string where = searched.empty() ? "no target could be searched" : "not on target(s) " + [&] {
    std::string s;
    for (const auto& t : searched) s += (s.empty() ? "" : ", ") + t;
    return s;
  }();
  for (const auto& u : unreadable) where += "; could not search " + u;
  return not_found("no backup " + backup_id + " in the catalog, and " + where);
}

}  // namespace stacksnap::repo
