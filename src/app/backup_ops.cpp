#include "app/backup_ops.h"

#include <set>

#include "catalog/catalog_admin.h"
#include "repo/repo.h"
#include "retention/policy.h"

namespace stacksnap::app {

TargetOpener default_target_opener() {
  return [](const catalog::TargetRecord& r) { return repo::open_target(r); };
}

std::string sidecar_for_blob(const std::string& blob_key) {
  constexpr std::string_view kExt = ".stsnap";
  if (blob_key.size() > kExt.size() && blob_key.ends_with(kExt)) {
    return blob_key.substr(0, blob_key.size() - kExt.size()) + ".json";
  }
  return blob_key + ".json";
}

Status delete_backup(catalog::Catalog& cat, const std::string& backup_id, const std::string& target,
                     const TargetOpener& open) {
  auto b = TRY(cat.get_backup(backup_id));
  bool any = false;
  for (const auto& copy : b.copies) {
    if (target != "*" && copy.target != target) continue;
    any = true;
    auto rec = cat.get_target(copy.target);
    if (rec.ok()) {
      auto t = TRY_CTX(open(*rec), "delete " + backup_id + " from target " + copy.target);
      TRY_CTX(t->remove(sidecar_for_blob(copy.key)), "delete " + backup_id + " from target " + copy.target);
      TRY_CTX(t->remove(copy.key), "delete " + backup_id + " from target " + copy.target);
    }  // a target that no longer exists: only the record is left to forget
    TRY(cat.remove_copy(backup_id, copy.target));
  }
  if (!any && target != "*") return not_found("backup " + backup_id + " has no copy on target '" + target + "'");
  auto left = TRY(cat.get_backup(backup_id));
  if (left.copies.empty()) TRY(cat.remove_backup(backup_id));
  return {};
}

namespace {

std::vector<retention::Candidate> candidates(const std::vector<catalog::BackupRecord>& backups,
                                             const std::string& target) {
  std::vector<retention::Candidate> out;
  for (const auto& b : backups) {
    bool has = target == "*";
    for (const auto& c : b.copies) has = has || c.target == target;
    if (has) out.push_back({b.id, b.created_at, b.verify_result == "ok"});
  }
  return out;
}

}  // namespace

Result<nlohmann::json> preview_retention(catalog::Catalog& cat, const std::string& project,
                                         const std::string& target, const nlohmann::json& policy_json) {
  auto policy = TRY(retention::Policy::from_json(policy_json));
  auto backups = TRY(cat.list_backups({.project = project}));
  auto decisions = retention::decide(candidates(backups, target), policy);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : decisions) {
    out.push_back({{"id", d.id}, {"created", d.created}, {"keep", d.keep}, {"reasons", d.reasons}});
  }
  return nlohmann::json{{"decisions", out}, {"description", policy.describe()}};
}

Result<nlohmann::json> apply_retention(catalog::Catalog& cat, const std::string& project, job::Context& ctx,
                                       const TargetOpener& open) {
  auto policies = TRY(catalog::list_retention(cat, project));
  std::set<std::string> pruned;
  int64_t failures = 0;
  for (const auto& p : policies) {
    TRY(ctx.check_cancel("retention"));
    auto policy = retention::Policy::from_json(p.policy);
    if (!policy.ok()) {
      ctx.warn("retention policy for target " + p.target + " is invalid: " + policy.error().message(), "retention");
      continue;
    }
    if (policy->empty()) continue;
    auto backups = TRY(cat.list_backups({.project = project}));
    for (const auto& d : retention::decide(candidates(backups, p.target), *policy)) {
      if (d.keep) continue;
      auto st = delete_backup(cat, d.id, p.target, open);
      if (!st.ok()) {
        ++failures;
        ctx.warn("could not delete " + d.id + (p.target == "*" ? "" : " from " + p.target) + ": " +
                     st.error().message(),
                 "retention");
        continue;
      }
      ctx.info("deleted " + d.id + (p.target == "*" ? "" : " from " + p.target) + " (policy: " +
                   policy->describe() + ")",
               "retention");
      pruned.insert(d.id);
    }
  }
  auto left = TRY(cat.list_backups({.project = project}));
  return nlohmann::json{{"pruned", std::vector<std::string>(pruned.begin(), pruned.end())},
                        {"kept", left.size()},
                        {"policies", policies.size()},
                        {"failures", failures}};
}

}  // namespace stacksnap::app
