// The file-level part of a restore, in one streaming pass over an archive that has
// already been verified whole:
//   config/…   → host files (regular files only: the archive's parent directory
//                entries never touch /var or /etc), written by this process
//   binds/<n>… → the bind's host path (created; an existing non-empty one was moved
//                aside by prepare_binds), owner/mode/mtime/xattrs from the headers
//   volumes/<v>… → one tar stream PUT at "/" into a never-started helper container
//                that mounts every target volume (NoCopy) at /stacksnap-restore/<i>;
//                full paths from "/" so relative symlinks never "escape" (notes §3.4);
//                ownership from the tar headers (no copyUIDGID)
//   dumps/…    → skipped (replayed later through dbengine::DumpSource)
//
// Volume contents are also summarised as a TreeDigest (regular files: path, content
// SHA-256, mode, uid, gid; XOR-combined so order does not matter) which drills compare
// with a digest read back through the Engine (check_volumes).
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "archive/entry.h"
#include "archive/manifest.h"
#include "archive/source.h"
#include "base/error.h"
#include "docker/client.h"
#include "job/context.h"
#include "restore/placement.h"
#include "seal/key.h"

namespace stacksnap::restore {

inline constexpr const char* kHelperMountRoot = "/stacksnap-restore";

struct TreeDigest {
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::array<uint8_t, 32> x{};
  void add(const std::string& rel_path, const std::string& sha256_hex, uint64_t size, uint32_t mode, uint32_t uid,
           uint32_t gid);
  std::string hex() const;
  bool operator==(const TreeDigest&) const = default;
};

struct ApplySummary {
  uint64_t config_files = 0;
  uint64_t bind_entries = 0, bind_bytes = 0;
  uint64_t volume_entries = 0, volume_bytes = 0;
  std::map<std::string, TreeDigest> volume_digests;  // by target volume name (from the archive)
  std::map<std::string, TreeDigest> volume_readback; // by target volume name (check_volumes only)
  std::map<int, TreeDigest> bind_digests;             // by bind index (from the archive)
  std::vector<std::string> warnings;
  archive::Manifest manifest;  // the archive's, every entry checked against it
};

struct ApplyOptions {
  std::string helper_image;   // any local image; the helper is never started
  bool check_volumes = false; // read every volume back through the Engine afterwards
  // Called once, on the applying thread, as soon as every planned config file has been
  // written (before the volumes when the archive holds the config first, as backups
  // write it), so that work needing only them can overlap the rest.
  std::function<void()> on_config_restored;
};

// Volumes must exist already (prepare_volumes). Binds must have been prepared.
// `open` gives the verified backup (a v1 archive or a repository snapshot in place).
Result<ApplySummary> apply_files(docker::Client& docker, const archive::SourceOpener& open,
                                 const Placement& placement, const ApplyOptions& options, job::Context& ctx);

// Creates every target volume with exactly Compose's labels (project, volume = key,
// version; never a config hash) or, for external volumes, by name without labels. An
// existing volume of that name is removed first (Docker keeps old labels on a create
// of an existing name, and restore replaces contents); FailedPrecondition naming the
// volume when it is still in use. Returns the names created.
Result<std::vector<std::string>> prepare_volumes(docker::Client& docker, const Placement& placement,
                                                 const std::string& compose_version, job::Context& ctx);

// Makes every bind's host path ready to receive the archive's contents: an existing
// non-empty directory or file is renamed to "<path>.pre-restore-<time>" (reported).
Result<std::vector<std::string>> prepare_binds(const Placement& placement, job::Context& ctx);

// Regular files under a host path (hardlinks counted once) and their bytes.
struct HostCount {
  uint64_t files = 0, bytes = 0;
};
Result<HostCount> count_host_files(const std::string& path);

}  // namespace stacksnap::restore
