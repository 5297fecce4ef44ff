// Running a recorded job from the command line: the state database, the sealing key,
// SIGINT/SIGTERM → cancel, events to the terminal printer or --json lines, the job's
// result as the command's Status.
#pragma once

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "cli/globals.h"
#include "job/run.h"
#include "seal/key.h"

namespace stacksnap::cli {

// The data dir made private (0700) and <data>/state.db opened: app::open_state, notices
// on stderr.
Result<std::unique_ptr<catalog::Catalog>> open_state(const Globals& g);
// Prints a one-line notice ("stacksnap: …") on stderr.
void print_note(const std::string& message);

// The key new archives are sealed with (key file, or passphrase checked against key.json).
Result<seal::MasterKey> sealing_key(const Globals& g, const std::string& key_file = {});
// Keys for reading archives.
Result<seal::KeySource> reading_keys(const Globals& g, const std::string& key_file = {});

// Runs `body` as a job. SIGINT/SIGTERM request a stop (a second signal does too; the
// body decides how fast it can unwind). --json: every event as a line on stdout, the
// summary last. Terminal: step lines, progress bar, and a final line rendered by
// `render_ok` from the summary fields (also for a partial job), followed by the
// summary's findings (render_findings).
// Notifications configured in the catalog are sent as the server sends them
// (app::JobNotifier), and delivered before this returns: at most about 11 s per channel
// (app::cli_notify_retry). A job whose end could not be recorded is warned about on
// stderr; the server's start-up repair finishes it from its summary event.
// Returns the body's error, or its result with `partial` set for a partial job.
Outcome run_cli_job(const Globals& g, catalog::Catalog& cat, const job::JobSpec& spec, const job::JobBody& body,
                    const std::function<std::string(const nlohmann::json&)>& render_ok = {});

}  // namespace stacksnap::cli
