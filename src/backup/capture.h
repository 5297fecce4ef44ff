// The data-moving steps of a backup, each writing into one EntrySink (a v1 archive or a
// repository snapshot): database dumps (engine inside the container, streamed through a
// bounded pipe), volume and bind-mount captures (read directly on the Engine's host, else
// the Engine's archive endpoint through a never-started helper container), hooks (exec
// with a timeout).
#pragma once

#include <chrono>
#include <string>

#include "archive/fs_source.h"
#include "archive/sink.h"
#include "backup/plan.h"
#include "docker/client.h"
#include "dbengine/engine.h"
#include "job/context.h"

namespace stacksnap::backup {

// Dumps one database service into dumps/<service>/ and records its DumpInfo in the
// manifest. Returns the engine's DumpInfo.
Result<dbengine::DumpInfo> capture_dump(docker::Client& docker, archive::EntrySink& writer, const DumpTask& task,
                                      job::Context& ctx, const std::string& step);

// Captures a named volume (type kVolume) or a bind mount (kBind) through a helper
// container created from `image` (never started, no network, read-only mount, NoCopy)
// into `archive_dir` (contents directly below it; a bind of a single file becomes the
// file `archive_dir` itself). `estimate` sizes the progress bar (0: unknown). `filter`
// (optional) sees every regular file as it passes (backup/sqlite_capture.h).
Status capture_mount(docker::Client& docker, archive::EntrySink& writer, const std::string& image,
                     docker::MountSpec::Type type, const std::string& source, const std::string& archive_dir,
                     uint64_t estimate, job::Context& ctx, const std::string& step,
                     archive::TarEntryFilter* filter = nullptr);

// Captures a volume or bind mount from where its files are on this host (`host_path`, the
// local driver's Mountpoint or the bind's source) into `archive_dir`, as capture_mount
// lays it out; a sink with a files cache takes unchanged files from it unread. What
// changed while it was read is warned about in the job log.
Result<archive::TreeSummary> capture_tree(archive::EntrySink& writer, const std::string& host_path,
                                          const std::string& archive_dir, uint64_t estimate, job::Context& ctx,
                                          const std::string& step, archive::TarEntryFilter* filter = nullptr);

// Whether cancelling the job stops a hook: a pre-backup hook is part of the backup
// (kStop); a post-backup hook undoes what the pre-backup one did (maintenance mode,
// flushed queues) and runs to its end or its timeout also when the job was cancelled
// (kFinish).
enum class HookCancel { kStop, kFinish };

// Runs a hook command with `sh -c` in its container, bounded by hook.timeout. Non-zero
// exit, timeout or exec failure → error naming the hook and its output's tail.
Status run_hook(docker::Client& docker, const HookTask& hook, job::Context& ctx, HookCancel cancel);

// Bytes below a host directory (best effort, 0 when unreadable): the free-space estimate.
uint64_t disk_usage(const std::string& path);

}  // namespace stacksnap::backup
