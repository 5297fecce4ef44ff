// stacksnap doctor [--json]
// Checks what backups and restores need (app/doctor.h) and prints what to fix. Exit 0
// when no check failed (warnings allowed), 5 (FailedPrecondition) when one did.
#include <sys/stat.h>

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "app/doctor.h"
#include "app/key_store.h"
#include "app/state.h"
#include "cli/globals.h"
#include "cli/job_runner.h"

namespace stacksnap::cli {
namespace {

void print_report(const app::DoctorReport& r) {
  for (const auto& c : r.checks) {
    std::string state(app::check_state_name(c.state));
    if (c.state == app::CheckState::kFail) state = "FAIL";
    std::cout << "  " << state << std::string(6 - state.size(), ' ') << c.id
              << std::string(c.id.size() < 16 ? 16 - c.id.size() : 1, ' ') << c.summary << "\n";
    if (!c.fix.empty()) std::cout << std::string(24, ' ') << "fix: " << c.fix << "\n";
  }
  std::cout << (r.ok() ? "No problems" : std::to_string(r.failed()) + " failed") << ", " << r.warnings()
            << (r.warnings() == 1 ? " warning" : " warnings") << ".\n";
}

Status run_doctor_command(const Globals& g) {
  app::DoctorEnv env{.data_dir = g.data_dir};
  // The state database as every command opens it (an older schema is migrated); a data
  // dir that does not exist is reported, not created.
  std::unique_ptr<catalog::Catalog> cat;
  struct stat st {};
  if (::stat(g.data_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    auto opened = catalog::Catalog::open(g.data_dir + "/state.db");
    if (opened.ok()) {
      cat = std::move(*opened);
      app::note_migration(*cat, print_note);
    } else {
      env.catalog_error = opened.error().message();
    }
  } else {
    env.catalog_error = g.data_dir + " does not exist";
  }
  env.cat = cat.get();
  app::KeyStore keys(g.data_dir);
  (void)keys.load();  // a key that cannot be loaded shows in its status
  env.key_status = keys.status();
  env.key_holder = app::KeyHolder::kCommand;
  std::unique_ptr<docker::Client> client;
  env.docker = [&client]() -> Result<docker::Client*> {
    if (!client) client = TRY(docker::Client::connect());
    return client.get();
  };

  const app::DoctorReport report = app::run_doctor(env);
  if (g.json) {
    std::cout << report.to_json().dump() << "\n";
  } else {
    print_report(report);
  }
  if (report.ok()) return {};
  std::string failed;
  for (const auto& c : report.checks) {
    if (c.state == app::CheckState::kFail) failed += (failed.empty() ? "" : ", ") + c.id;
  }
  return failed_precondition(std::to_string(report.failed()) + " check" + (report.failed() == 1 ? "" : "s") +
                             " failed: " + failed);
}

}  // namespace

void add_doctor_command(CLI::App& root, Globals& g) {
  auto* cmd = root.add_subcommand("doctor", "Check the Engine, Compose, data dir, key, targets, clock and free space; "
                                            "print what to fix (exit 5 when a check fails)");
  cmd->add_flag("--json", g.json, "One JSON object (docs/CLI.md)");
  cmd->callback([&g] { g.result = run_doctor_command(g); });
}

}  // namespace stacksnap::cli
