// The data directory and the state database, as every command that writes them opens
// them (`serve`, `target add`, `backup`, `restore`, `key init`, `admin reset-password`, …).
//
// The data directory holds the master key, storage credentials (secrets/) and the state
// database: only its owner (root) may enter it. prepare_data_dir creates it, and missing
// parents, with mode 0700, or tightens an existing one to 0700 — saying so once, through
// `note`, when it had to. Thread-compatible; call before the server's threads start.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "catalog/catalog.h"

namespace stacksnap::app {

// Receives one-line notices for the user ("data dir … tightened to 0700").
using Note = std::function<void(const std::string&)>;

Status prepare_data_dir(const std::string& dir, const Note& note);

// Tells `note` when opening `cat` migrated its schema, and where the copy kept of it is.
void note_migration(const catalog::Catalog& cat, const Note& note);

// prepare_data_dir, then <dir>/state.db (schema migrations run; a migration is told
// through `note`, with the copy kept of the database as it was), then inline target
// secrets found in it moved to files under <dir>/secrets/ (app/targets.h).
Result<std::unique_ptr<catalog::Catalog>> open_state(const std::string& data_dir, const Note& note);

}  // namespace stacksnap::app
