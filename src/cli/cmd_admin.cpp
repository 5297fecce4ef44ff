// stacksnap admin reset-password [--password-stdin]
// The local recovery path for the appliance's account: sets the admin password (creating
// the admin when there is none yet, e.g. on a headless install), ends every session and
// revokes every API token. It needs no old password and no setup token — it needs the
// data directory, i.e. root on this host. A running server sees the change at once;
// event streams it already has open end at their next heartbeat (within 15 s).
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "app/state.h"
#include "base/clock.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "http/auth.h"
#include "seal/passphrase.h"

namespace stacksnap::cli {
namespace {

Result<std::string> read_new_password(bool from_stdin) {
  if (from_stdin) {
    std::string line;
    if (!std::getline(std::cin, line)) return invalid_argument("no password on standard input");
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    return line;
  }
  auto pw = TRY(seal::prompt_passphrase("New admin password: ", seal::Confirm::kTwice));
  return std::string(pw.view());
}

Status reset_password(const Globals& g, bool from_stdin) {
  if (::geteuid() != 0) return permission_denied("admin reset-password is for root on the StackSnap host");
  std::string password = TRY(read_new_password(from_stdin));
  auto cat = TRY(open_state(g));  // the schema brought up to date; its connection serves the accounts too
  SystemClock clock;
  http::AuthService auth(cat->db(), clock, {.setup_token_file = g.data_dir + "/setup-token"});
  TRY(auth.reset_password(password));
  if (g.json) {
    std::cout << nlohmann::json{{"user", http::AuthService::kAdmin}, {"sessions_ended", true}, {"tokens_revoked", true}}
              << "\n";
  } else {
    std::cout << "admin password set; every session ended and every API token revoked\n";
  }
  return {};
}

}  // namespace

void add_admin_commands(CLI::App& root, Globals& g) {
  auto* admin = root.add_subcommand("admin", "The appliance's account (local recovery)");
  admin->require_subcommand(1);
  auto from_stdin = std::make_shared<bool>(false);
  auto* reset = admin->add_subcommand("reset-password",
                                      "Set the admin password (root only): ends every session, revokes every API token");
  reset->add_flag("--password-stdin", *from_stdin, "Read the new password from standard input (one line)");
  reset->callback([&g, from_stdin] { g.result = reset_password(g, *from_stdin); });
}

}  // namespace stacksnap::cli
