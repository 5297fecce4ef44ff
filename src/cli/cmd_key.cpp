// stacksnap key init [--force] [--passphrase]   create the master key (or passphrase record)
// stacksnap key show                            print the key's fingerprint, never the key
// stacksnap key import FILE [--check]           the key from a key file or the dashboard's recovery
//                                               file (app::parse_recovery_key, as POST /api/key import)
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "app/key_store.h"
#include "app/state.h"
#include "base/fd.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "seal/key.h"
#include "seal/passphrase.h"

namespace stacksnap::cli {

namespace {

constexpr size_t kMinPassphrase = 8;
constexpr uint32_t kMinOps = 3, kMinMemMib = 64;  // the floor for new passphrase keys

bool exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

struct InitOptions {
  bool force = false;
  bool passphrase = false;
  uint32_t ops = 3;
  uint32_t mem_mib = 64;
};

Status key_init(const Globals& g, const InitOptions& o) {
  TRY(app::prepare_data_dir(g.data_dir, print_note));
  const std::string key_path = seal::key_file_path(g.data_dir);
  const std::string rec_path = seal::passphrase_record_path(g.data_dir);
  const auto overwrite = o.force ? seal::Overwrite::kAllow : seal::Overwrite::kRefuse;
  const std::string& other = o.passphrase ? key_path : rec_path;
  if (exists(other)) {
    return already_exists("a " + std::string(o.passphrase ? "key file" : "passphrase record") + " exists at " + other +
                          "; move it away first (archives sealed with it still need it)");
  }
  std::string fingerprint, path;
  if (!o.passphrase) {
    auto key = TRY(seal::MasterKey::generate());
    TRY(seal::write_key_file(key_path, key, overwrite));
    fingerprint = key.fingerprint();
    path = key_path;
  } else {
    if (exists(rec_path) && !o.force) {
      return already_exists("passphrase record " + rec_path + " already exists (use --force to replace it)");
    }
    const char* env = std::getenv("STACKSNAP_PASSPHRASE");
    seal::SecretString pass = env && *env ? TRY(seal::SecretString::from(env))
                                          : TRY(seal::prompt_passphrase("New passphrase: ", seal::Confirm::kTwice));
    if (pass.view().size() < kMinPassphrase) {
      return invalid_argument("the passphrase is shorter than " + std::to_string(kMinPassphrase) + " characters");
    }
    if (o.ops < kMinOps || o.mem_mib < kMinMemMib) {
      return invalid_argument("Argon2id needs at least " + std::to_string(kMinOps) + " passes and " +
                              std::to_string(kMinMemMib) + " MiB");
    }
    auto params = TRY(seal::new_argon2_params(o.ops, o.mem_mib * 1024));
    auto key = TRY(seal::MasterKey::from_passphrase(pass.view(), params));
    TRY(seal::write_passphrase_record(rec_path, key, overwrite));
    fingerprint = key.fingerprint();
    path = rec_path;
  }
  if (g.json) {
    std::cout << nlohmann::json{{"path", path}, {"fingerprint", fingerprint},
                                {"source", o.passphrase ? "passphrase" : "key-file"}}
                     .dump()
              << "\n";
  } else {
    std::cout << (o.passphrase ? "passphrase record written to " : "key written to ") << path << " (mode 0600)\n"
              << "fingerprint " << fingerprint << "\n"
              << (o.passphrase ? "Without the passphrase no archive can be restored: keep it safe.\n"
                               : "Back this file up somewhere safe and offline: without it no archive can be restored.\n");
  }
  return {};
}

Status key_show(const Globals& g) {
  const std::string key_path = seal::key_file_path(g.data_dir);
  const std::string rec_path = seal::passphrase_record_path(g.data_dir);
  nlohmann::json j;
  if (exists(key_path)) {
    auto key = TRY(seal::read_key_file(key_path));
    j = {{"source", "key-file"}, {"path", key_path}, {"fingerprint", key.fingerprint()}};
  } else if (exists(rec_path)) {
    auto rec = TRY(seal::read_passphrase_record(rec_path));
    j = {{"source", "passphrase"},
         {"path", rec_path},
         {"fingerprint", rec.fingerprint},
         {"kdf", {{"algorithm", "argon2id13"}, {"opslimit", rec.params.opslimit},
                  {"memlimit_kib", rec.params.memlimit_kib}, {"parallelism", rec.params.parallelism}}}};
  } else {
    return not_found("no key in " + g.data_dir + ": run `stacksnap key init`");
  }
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "source      " << j["source"].get<std::string>() << "\n"
              << "path        " << j["path"].get<std::string>() << "\n"
              << "fingerprint " << j["fingerprint"].get<std::string>() << "\n";
    if (j.contains("kdf")) {
      std::cout << "kdf         Argon2id t=" << j["kdf"]["opslimit"] << " m=" << j["kdf"]["memlimit_kib"].get<uint32_t>() / 1024
                << " MiB p=" << j["kdf"]["parallelism"] << "\n";
    }
  }
  return {};
}

// Prints the fingerprint first; with --check nothing is saved (compare it with the one
// the recovery file names).
Status key_import(const Globals& g, const std::string& file, bool check) {
  auto text = TRY(read_small_file(file == "-" ? "/dev/stdin" : file, 64 * 1024));
  auto parsed = TRY(app::parse_recovery_key(text));
  if (!check) {
    app::KeyStore store(g.data_dir);
    TRY(store.import_hex(parsed.hex));
  }
  if (g.json) {
    std::cout << nlohmann::json{{"fingerprint", parsed.fingerprint}, {"saved", !check}}.dump() << "\n";
  } else {
    std::cout << "fingerprint " << parsed.fingerprint << "\n"
              << (check ? "not saved (--check)" : "key saved to " + seal::key_file_path(g.data_dir)) << "\n";
  }
  return {};
}

}  // namespace

void add_key_commands(CLI::App& root, Globals& g) {
  auto* key = root.add_subcommand("key", "Create or show the master key that seals archives");
  key->require_subcommand(1);
  auto opts = std::make_shared<InitOptions>();
  auto* init = key->add_subcommand("init", "Create the master key: <data-dir>/key (32 random bytes, mode 0600)");
  init->add_flag("--force", opts->force, "Replace an existing key (archives sealed with it then need the old key)");
  init->add_flag("--passphrase", opts->passphrase,
                 "Derive the key from a passphrase (Argon2id; STACKSNAP_PASSPHRASE or asked twice) "
                 "and record only its parameters in <data-dir>/key.json");
  init->add_option("--argon2-ops", opts->ops, "Argon2id passes")->capture_default_str();
  init->add_option("--argon2-mem-mib", opts->mem_mib, "Argon2id memory in MiB")->capture_default_str();
  init->callback([&g, opts] { g.result = key_init(g, *opts); });
  auto* show = key->add_subcommand("show", "Print the key's source and fingerprint (never the key)");
  show->callback([&g] { g.result = key_show(g); });
  auto file = std::make_shared<std::string>();
  auto check = std::make_shared<bool>(false);
  auto* imp = key->add_subcommand("import", "Import the key of another install (disaster recovery): a key file or "
                                           "the dashboard's recovery file ('-': stdin)");
  imp->add_option("FILE", *file, "Key file or recovery file")->required();
  imp->add_flag("--check", *check, "Only print the key's fingerprint; save nothing");
  imp->callback([&g, file, check] { g.result = key_import(g, *file, *check); });
}

}  // namespace stacksnap::cli
