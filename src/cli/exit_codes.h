// Error code → process exit code: the one table (documented in docs/CLI.md).
#pragma once

#include "base/error.h"

namespace stacksnap::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // the operation failed (engine unreachable, dump failed…)
inline constexpr int kExitUsage = 2;          // bad input: unknown project/ID, bad flag value
inline constexpr int kExitDataLoss = 3;       // corruption: verify failed, archive tampered or truncated
inline constexpr int kExitAuth = 4;           // wrong key or passphrase, credentials refused
inline constexpr int kExitConflict = 5;       // precondition: a job already runs, exists without --force
inline constexpr int kExitPartial = 6;        // a job ended partial: done, but a requested target failed
                                              // (a backup not stored there, a copy not reachable)
inline constexpr int kExitCancelled = 130;    // SIGINT/SIGTERM or cancel

int exit_code_for(Code code);

}  // namespace stacksnap::cli
