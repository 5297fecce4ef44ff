#include "app/target_ops.h"

#include "app/targets.h"

#include <algorithm>
#include <cctype>
#include "base/clock.h"
#include "base/scope.h"
#include "base/text.h"
#include "catalog/catalog_admin.h"

namespace stacksnap::app {

using Json = nlohmann::json;

namespace {

bool has(const std::string& text, std::string_view needle) {
  if (needle.size() > text.size()) return false;
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                    std::tolower(static_cast<unsigned char>(b)); });
  return it != text.end();
}

int64_t ms_since(double t) { return static_cast<int64_t>((monotonic_seconds() - t) * 1000); }

}  // namespace

FailureKind classify_target_error(const Error& e) {
  const std::string& m = e.message();
  if (has(m, "RequestTimeTooSkewed") || has(m, "time too skewed")) {
    return {"clock_skew",
            "this machine's clock differs too much from the storage server's: set the time (NTP: timedatectl "
            "set-ntp true) and test again"};
  }
  if (has(m, "NoSuchBucket") || (has(m, "bucket") && has(m, "does not exist"))) {
    return {"bucket_missing", "the bucket does not exist: check its name (and the region), or create it first"};
  }
  if (has(m, "Could not resolve host") || has(m, "Couldn't resolve host") || has(m, "resolve host")) {
    return {"dns", "the endpoint's host name does not resolve: check the endpoint URL and this machine's DNS"};
  }
  if (has(m, "TLS verification failed") || has(m, "SSL certificate") || has(m, "certificate") ||
      has(m, "SSL connect error") || has(m, "SSL routines")) {
    return {"tls",
            "the TLS connection failed (certificate not trusted or not for this host name): for a private CA paste "
            "its certificate as the CA bundle, or check that the endpoint is https and the right host"};
  }
  if (has(m, "InvalidAccessKeyId") || has(m, "SignatureDoesNotMatch") || has(m, "AccessDenied") ||
      e.code() == Code::kPermissionDenied || e.code() == Code::kUnauthenticated) {
    return {"access_denied",
            "access denied (HTTP 403): check the access key and secret key, and that they may write, read, list and "
            "delete under the bucket and prefix"};
  }
  if (has(m, "Couldn't connect") || has(m, "Could not connect") || has(m, "Connection refused") ||
      has(m, "timed out") || has(m, "Timeout")) {
    return {"connect", "the endpoint does not answer: check the URL and port, and that a firewall lets this machine through"};
  }
  if (e.code() == Code::kInvalidArgument) return {"config", "the configuration is not valid: " + m};
  if (e.code() == Code::kResourceExhausted) return {"full", "the storage is full"};
  return {"other", ""};
}

Json ProbeResult::to_json() const {
  Json s = Json::array();
  for (const auto& st : steps) s.push_back({{"step", st.step}, {"ok", st.ok}, {"ms", st.ms}});
  if (ok) return Json{{"ok", true}, {"latency_ms", latency_ms}, {"steps", s}, {"describe", describe}};
  Json j{{"ok", false}, {"step", failed_step}, {"code", code}, {"message", message}, {"kind", kind},
         {"hint", hint},  {"steps", s}};
  if (!describe.empty()) j["describe"] = describe;
  return j;
}

ProbeResult probe_target(const catalog::TargetRecord& rec, const TargetOpener& open,
                         const std::function<void(const ProbeStep&)>& on_step) {
  ProbeResult out;
  const double t0 = monotonic_seconds();
  auto fail = [&](const std::string& step, const Error& e) {
    out.ok = false;
    out.failed_step = step;
    out.code = std::string(code_name(e.code()));
    out.message = e.message();
    auto k = classify_target_error(e);
    out.kind = k.kind;
    out.hint = k.hint;
    out.error = e;
    return out;
  };
  auto timed = [&](const std::string& step, const std::function<Status()>& fn) -> Status {
    const double s = monotonic_seconds();
    Status st = fn();
    out.steps.push_back({step, st.ok(), ms_since(s)});
    if (on_step) on_step(out.steps.back());
    return st;
  };
  std::unique_ptr<storage::Target> target;
  if (auto st = timed("open", [&]() -> Status {
        target = TRY((open ? open : default_target_opener())(rec));
        return {};
      });
      !st.ok()) {
    return fail("open", st.error());
  }
  out.describe = target->describe();
  const std::string key = "stacksnap-probe/" + random_hex(8);
  const std::string content = "stacksnap connection test " + random_hex(16) + "\n";
  if (auto st = timed("write", [&] { return storage::put_small(*target, key, content); }); !st.ok()) {
    return fail("write", st.error());
  }
  auto cleanup = on_scope_exit([&] { (void)target->remove(key); });
  if (auto st = timed("read", [&]() -> Status {
        auto got = TRY(storage::get_small(*target, key, 4096));
        if (got != content) return data_loss("the probe read back differs from what was written");
        return {};
      });
      !st.ok()) {
    return fail("read", st.error());
  }
  if (auto st = timed("list", [&]() -> Status {
        bool seen = false;
        TRY(target->list("stacksnap-probe/", [&](const storage::ObjectInfo& o) -> Status {
          if (o.key == key) seen = true;
          return {};
        }));
        if (!seen) return failed_precondition("the probe object is missing from the listing");
        return {};
      });
      !st.ok()) {
    return fail("list", st.error());
  }
  if (auto st = timed("delete", [&] { return target->remove(key); }); !st.ok()) return fail("delete", st.error());
  cleanup.dismiss();
  out.ok = true;
  out.latency_ms = ms_since(t0);
  return out;
}

Result<ProbeResult> probe_target_config(const std::string& data_dir, const TargetOpener& open,
                                        const std::string& kind, Json config, const catalog::TargetRecord* saved) {
  if (!config.is_object()) return invalid_argument("config must be an object");
  const std::string stem = "probe-" + random_hex(8);
  auto cleanup = on_scope_exit([&] { remove_secret_files(data_dir, stem); });
  TRY(check_target_config(data_dir, kind, config));
  TRY(store_inline_secrets(data_dir, stem, config));
  if (saved != nullptr && kind == "s3") keep_stored_secrets(saved->config, config);
  catalog::TargetRecord rec{.name = saved ? saved->name : "unsaved", .kind = kind, .config = config};
  return probe_target(rec, open);
}

Json to_json(const std::string& target, const repo::RebuildReport& r) {
  Json problems = Json::array();
  for (const auto& p : r.problems) problems.push_back({{"key", p.key}, {"code", p.code}, {"message", p.message}});
  return Json{{"target", target},
              {"sidecars", r.sidecars},
              {"added_backups", r.added_backups},
              {"added_copies", r.added_copies},
              {"already_known", r.already_known},
              {"unfinished_blobs", r.unfinished_blobs},
              {"problems", problems}};
}

Result<Json> rebuild_catalog(catalog::Catalog& cat, const std::string& target_name, const TargetOpener& open,
                             const seal::KeySource& keys, job::Context* ctx, const StopToken& stop) {
  auto rec = TRY(cat.get_target(target_name));
  std::optional<job::StepTimer> step;
  if (ctx) step.emplace(*ctx, "rebuild", "Read every backup stored on target " + target_name);
  auto run = [&]() -> Result<Json> {
    auto t = TRY_CTX((open ? open : default_target_opener())(rec), "target " + target_name);
    auto rep = TRY_CTX(repo::rebuild_from_target(cat, rec, *t, keys, stop), "target " + target_name);
    return to_json(target_name, rep);
  };
  auto out = run();
  if (ctx) {
    if (out.ok()) {
      for (const auto& p : (*out)["problems"]) {
        ctx->warn("skipped " + p["key"].get<std::string>() + ": " + p["message"].get<std::string>(), "rebuild");
      }
      step->end(true, std::to_string((*out)["sidecars"].get<int>()) + " backups found, " +
                          std::to_string((*out)["added_backups"].size()) + " added to the catalog");
    } else {
      step->end(false, out.error().message());
    }
  }
  return out;
}

Status set_target_format(catalog::Catalog& cat, const std::string& data_dir, const std::string& name,
                         const std::string& format) {
  auto t = TRY(cat.get_target(name));
  if (!t.config.is_object()) t.config = Json::object();
  t.config["format"] = format;
  TRY(check_target_config(data_dir, t.kind, t.config));
  return cat.update_target(t);
}

Result<int64_t> remove_target(catalog::Catalog& cat, const std::string& data_dir, const std::string& name,
                              bool force) {
  auto t = TRY(cat.get_target(name));
  auto counts = TRY(catalog::copies_per_target(cat));
  const int64_t held = counts[t.name];
  if (held > 0 && !force) {
    return failed_precondition("target '" + t.name + "' holds " + std::to_string(held) +
                               " backup(s); delete them first, or force it to forget them (CLI --force, API "
                               "?force=true; the files on storage are left alone)");
  }
  if (held > 0) TRY(catalog::forget_copies_on(cat, t.name));
  TRY(cat.remove_target(t.name));
  remove_secret_files(data_dir, target_secret_stem(t.name));
  return held;
}

}  // namespace stacksnap::app
