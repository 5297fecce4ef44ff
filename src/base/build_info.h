// What this binary is: StackSnap's version (CMake's project version, STACKSNAP_VERSION),
// the git commit it was built from and its build date, embedded at build time by
// cmake/build_info.cmake (generated/build_info.cpp). Shown by `stacksnap --version`,
// GET /api/health, `stacksnap doctor` and the package's file names.
#pragma once

#include <string>
#include <string_view>

namespace stacksnap {

struct BuildInfo {
  std::string_view version;  // "0.1.0"
  std::string_view commit;   // "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" (uncommitted changes), "unknown"
  // UTC, "2026-12-06T20:24:00Z": SOURCE_DATE_EPOCH when the build set it, else the date of
  // the commit (so that rebuilding a commit reproduces it); "unknown" without either.
  std::string_view date;
};

const BuildInfo& build_info();

// "stacksnap 0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-06T20:24:00Z)"
std::string version_line();

}  // namespace stacksnap
