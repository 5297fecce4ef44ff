#include "app/backup_ops.h"

#include <set>

#include "catalog/catalog_admin.h"
#include "repo/repo.h"
#include "retention/apply.h"
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

// Both go through retention::plan_prune (the same decisions `stacksnap prune` makes) and
// apply_prune (its safety re-check: never the newest verified backup, never a whole group).
Result<nlohmann::json> preview_retention(catalog::Catalog& cat, const std::string& project,
                                         const std::string& target, const nlohmann::json& policy_json) {
  auto policy = TRY(retention::Policy::from_json(policy_json));
  auto plan = TRY(retention::plan_prune(cat, {.project = project, .target = target, .policy = policy}));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : plan.groups) {
    for (const auto& d : g.decisions) {
      out.push_back({{"id", d.id}, {"created", d.created}, {"keep", d.keep}, {"reasons", d.reasons}});
    }
  }
  return nlohmann::json{{"decisions", out}, {"description", policy.describe()}};
}

Result<nlohmann::json> apply_retention(catalog::Catalog& cat, const std::string& project, job::Context& ctx,
                                       const TargetOpener& open) {
  auto plan = TRY(retention::plan_prune(cat, {.project = project}));
  TRY(ctx.check_cancel("retention"));
  auto outcome = TRY(retention::apply_prune(cat, plan, [&](const std::string& id, const std::string& target) {
    return delete_backup(cat, id, target, open);
  }));
  auto where = [](const std::string& target) { return target == "*" ? std::string() : " from " + target; };
  std::set<std::string> pruned;
  for (const auto& d : outcome.deleted) {
    ctx.info("deleted " + d.id + where(d.target), "retention");
    pruned.insert(d.id);
  }
  for (const auto& f : outcome.failed) {
    ctx.warn("could not delete " + f.id + where(f.target) + ": " + f.error, "retention");
  }
  for (const auto& k : outcome.spared) ctx.info("kept " + k.id + where(k.target) + ": " + k.error, "retention");
  auto left = TRY(cat.list_backups({.project = project}));
  return nlohmann::json{{"pruned", std::vector<std::string>(pruned.begin(), pruned.end())},
                        {"kept", left.size()},
                        {"policies", plan.groups.size()},
                        {"failures", outcome.failed.size()}};
}

}  // namespace stacksnap::app
