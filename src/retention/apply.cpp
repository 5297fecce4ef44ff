#include "retention/apply.h"

#include <algorithm>
#include <map>
#include <set>

#include "catalog/catalog_admin.h"

namespace stacksnap::retention {

namespace {

using Json = nlohmann::json;

std::vector<Candidate> candidates(const std::vector<catalog::BackupRecord>& backups, const std::string& project,
                                  const std::string& target) {
  std::vector<Candidate> out;
  for (const auto& b : backups) {
    if (b.project != project) continue;
    bool has = target == "*";
    for (const auto& c : b.copies) has = has || c.target == target;
    if (has) out.push_back({b.id, b.created_at, b.verify_result == "ok"});
  }
  return out;
}

// The newest backup with verify_result "ok" of each project.
std::map<std::string, std::string> newest_verified(const std::vector<catalog::BackupRecord>& backups) {
  std::map<std::string, const catalog::BackupRecord*> best;
  for (const auto& b : backups) {
    if (b.verify_result != "ok") continue;
    auto& cur = best[b.project];
    if (!cur || b.created_at > cur->created_at || (b.created_at == cur->created_at && b.id > cur->id)) cur = &b;
  }
  std::map<std::string, std::string> out;
  for (const auto& [p, b] : best) out[p] = b->id;
  return out;
}

}  // namespace

Result<PrunePlan> plan_prune(catalog::Catalog& cat, const PruneRequest& req) {
  if (!req.target.empty() && req.target != "*") TRY(cat.get_target(req.target));
  auto backups = TRY(cat.list_backups({.project = req.project}));
  std::set<std::string> projects;
  if (!req.project.empty()) projects.insert(req.project);
  for (const auto& b : backups) projects.insert(b.project);

  PrunePlan plan;
  for (const auto& project : projects) {
    auto add = [&](const std::string& target, const Policy& policy, const char* source) {
      plan.groups.push_back({.project = project, .target = target, .policy = policy, .source = source,
                             .decisions = decide(candidates(backups, project, target), policy)});
    };
    const std::string scope = req.target.empty() ? "*" : req.target;
    if (req.policy) {
      add(scope, *req.policy, "flags");
      continue;
    }
    auto stored = TRY(catalog::list_retention(cat, project));
    std::vector<catalog::RetentionRecord> use;
    if (req.target.empty()) {
      use = stored;
    } else {
      auto pick = [&](const std::string& t) {
        return std::find_if(stored.begin(), stored.end(), [&](const catalog::RetentionRecord& r) { return r.target == t; });
      };
      auto it = pick(req.target);
      if (it == stored.end()) it = pick("*");
      if (it != stored.end()) use.push_back(*it);
    }
    bool any = false;
    for (const auto& r : use) {
      auto policy = Policy::from_json(r.policy);
      if (!policy.ok()) {
        return std::move(policy).error().with_context("stored retention policy of " + project + " (target " + r.target + ")");
      }
      if (policy->empty()) continue;
      add(req.target.empty() ? r.target : req.target, *policy, "stored");
      any = true;
    }
    if (!any && std::any_of(backups.begin(), backups.end(), [&](const auto& b) { return b.project == project; })) {
      plan.without_policy.push_back(project);
    }
  }
  return plan;
}

Result<PruneOutcome> apply_prune(catalog::Catalog& cat, const PrunePlan& plan, const RemoveFn& remove) {
  PruneOutcome out;
  auto backups = TRY(cat.list_backups({}));
  auto protect = newest_verified(backups);
  for (const auto& g : plan.groups) {
    bool keeps_any = std::any_of(g.decisions.begin(), g.decisions.end(), [](const Decision& d) { return d.keep; });
    for (const auto& d : g.decisions) {
      if (d.keep) continue;
      if (!keeps_any) {
        out.spared.push_back({d.id, g.target, "the policy would delete every backup of " + g.project});
        continue;
      }
      if (auto it = protect.find(g.project); it != protect.end() && it->second == d.id) {
        out.spared.push_back({d.id, g.target, "newest verified backup of " + g.project});
        continue;
      }
      auto st = remove(d.id, g.target);
      if (!st.ok() && st.error().code() == Code::kNotFound && !cat.get_backup(d.id).ok()) {
        continue;  // already gone (an earlier group deleted it)
      }
      if (!st.ok()) out.failed.push_back({d.id, g.target, st.error().message()});
      else out.deleted.push_back({d.id, g.target, ""});
    }
  }
  return out;
}

Json to_json(const PrunePlan& plan) {
  Json groups = Json::array();
  for (const auto& g : plan.groups) {
    Json ds = Json::array();
    for (const auto& d : g.decisions) {
      ds.push_back({{"id", d.id}, {"created", d.created}, {"keep", d.keep}, {"reasons", d.reasons}});
    }
    groups.push_back({{"project", g.project}, {"target", g.target}, {"policy", g.policy.to_json()},
                      {"description", g.policy.describe()}, {"source", g.source}, {"decisions", ds}});
  }
  return {{"groups", groups}, {"without_policy", plan.without_policy}};
}

Json to_json(const PruneOutcome& o) {
  auto items = [](const std::vector<PruneOutcome::Item>& v) {
    Json a = Json::array();
    for (const auto& i : v) {
      Json j = {{"id", i.id}, {"target", i.target}};
      if (!i.error.empty()) j["reason"] = i.error;
      a.push_back(j);
    }
    return a;
  };
  return {{"deleted", items(o.deleted)}, {"failed", items(o.failed)}, {"spared", items(o.spared)}};
}

}  // namespace stacksnap::retention
