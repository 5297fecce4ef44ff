// Storage target configuration: one set of rules for `stacksnap target add` and the API
// (docs/API.md, "Storage targets"; docs/adr/0005-appliance-exposure.md).
//
//  - Keys are allowlisted per kind, each with its type:
//      local: path, readable_names, format
//      s3:    endpoint, bucket, region, prefix, addressing, readable_names, format, access_key,
//             part_size, parallel_parts, multipart_threshold,
//             access_key_file, secret_key_file, session_token_file, ca_file,
//             and as input only the inline secrets secret_key, session_token and
//             ca_pem (a CA bundle's text, stored as <stem>.ca.pem and named by ca_file).
//  - A local path is absolute and normal (no ".", "..", "//"), is no system tree (/, /etc,
//    /proc, /usr, /var/lib/docker, …) and not StackSnap's own state (the data directory
//    itself, its secrets/, spool/, drills/, restores/) — also after symlinks are resolved.
//  - Every *_file key names an existing regular file under <data-dir>/secrets/ (symlinks
//    resolved), so a target can never make the server read an arbitrary host file.
//  - Inline secrets are written to 0600 files under <data-dir>/secrets/ (0700) and replaced
//    by *_file keys: no secret is stored in the state database or returned by the API.
//
// Pure functions plus file writes under the secrets directory; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/state.h"
#include "base/error.h"
#include "catalog/catalog.h"

namespace stacksnap::app {

// <data-dir>/secrets
std::string secrets_dir(const std::string& data_dir);

// InvalidArgument naming the key and the rule it breaks.
Status check_target_config(const std::string& data_dir, const std::string& kind, const nlohmann::json& config);

// Writes the inline secrets of `config` to <secrets>/<stem>.secret (secret_key) and
// <secrets>/<stem>.session_token, 0600, and replaces them by secret_key_file /
// session_token_file. Returns the files written.
Result<std::vector<std::string>> store_inline_secrets(const std::string& data_dir, const std::string& stem,
                                                      nlohmann::json& config);

// The file stem of a saved target's secrets: "target-<name>".
std::string target_secret_stem(const std::string& target);
// Removes the secret files store_inline_secrets wrote for `stem` (best-effort).
void remove_secret_files(const std::string& data_dir, const std::string& stem);

// Copies a file the user named (a CA bundle given to the CLI) into the secrets directory
// as <secrets>/<name>, 0600; returns the new path.
Result<std::string> copy_into_secrets(const std::string& data_dir, const std::string& source, const std::string& name);

// "format": "repository" (docs/FORMAT.md §v2: deduplicated, incremental; the default for
// new targets) or "archive" (one v1 archive per backup; what a target without the key
// holds: targets added before v2 keep writing archives until their format is changed).
void set_new_target_defaults(nlohmann::json& config);

// An edited config that names no secret keeps the stored secret files of `old` (the
// dashboard never sees them, so it cannot send them back): s3 targets.
void keep_stored_secrets(const nlohmann::json& old, nlohmann::json& next);
// An edited config that names no format keeps the stored one (every kind).
void keep_stored_format(const nlohmann::json& old, nlohmann::json& next);

// A target's config as shown to people and API clients: no inline secrets, no secret
// file paths; s3 targets get "secret_key_set".
nlohmann::json public_target_config(const catalog::TargetRecord& t);

// Moves inline secrets of stored targets (databases written before these rules) into
// files; `note` hears about each target changed and about *_file keys outside the
// secrets directory (left alone: re-add those targets).
Status migrate_inline_secrets(catalog::Catalog& cat, const std::string& data_dir, const Note& note);

}  // namespace stacksnap::app
