// The Docker Engine API client: the interface every area uses (capture, restore, discovery,
// doctor), and connect() to the Engine itself (docker/engine_client.h, over HTTP). Unit
// tests put a fake behind the same interface (tests/unit/fake_docker.h).
//
//   auto docker = TRY(docker::Client::connect());          // DOCKER_HOST or the default socket
//   auto info = TRY(docker->inspect_container("shop_db_1"));
//   int rc = TRY(docker->exec("shop_db_1", {.cmd = {"pg_dump", "-U", "shop", "shop"}},
//                             nullptr, archive_entry_writer, stderr_capture, job.stop));
//
// Contract (of the Engine client; a fake keeps the same error codes)
//  - Every call opens a fresh connection, so a Client is safe to use from several
//    threads at once (backups run captures concurrently). It holds no locks across
//    calls; the negotiated API version is guarded internally.
//  - The API version is negotiated once at connect() (unversioned GET /version) and
//    sent on every call as /v{X.Y}/…; a 400 "client version … too old/new" triggers
//    one renegotiation and one retry (see docker/api_version.h for the policy).
//  - Errors carry the operation and the Engine's own message:
//      NotFound "inspect container shop_db_1: No such container: shop_db_1".
//    HTTP status → Code: 400 InvalidArgument, 401/403 PermissionDenied, 404 NotFound,
//    409 FailedPrecondition, 5xx and anything unexpected Internal. A connection that
//    cannot be opened or breaks is Unavailable ("cannot reach the Docker Engine at
//    unix:///var/run/docker.sock: connection refused"); a stopped StopToken is Cancelled.
//  - Bodies stream with fixed buffers (kExecBuffer, kArchiveBuffer); only small JSON
//    answers (lists, inspects: ≤ kMaxJsonBody) are held in memory.
//  - Short calls give up after Options::call_timeout without progress (DeadlineExceeded);
//    streaming calls (exec, archive, events, pull) wait as long as the peer needs and
//    are bounded by their StopToken instead.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"
#include "docker/api_version.h"
#include "docker/endpoint.h"
#include "docker/types.h"

namespace stacksnap::docker {

inline constexpr size_t kExecBuffer = 64 * 1024;      // exec stdin chunks; stdout via the connection buffer
inline constexpr size_t kArchiveBuffer = 256 * 1024;  // archive GET/PUT copy buffer
inline constexpr size_t kMaxJsonBody = 64 << 20;      // lists and inspects
inline constexpr size_t kMaxEventLine = 1 << 20;      // one event / one pull progress line

// A tar stream being read from a container (GET archive). Holds the connection, and
// with it the container's lock in the Engine (notes §3.1): read it to the end
// promptly, or destroy it.
class ArchiveReader : public Reader {
 public:
  virtual const PathStat& stat() const = 0;
};

class Client {
 public:
  struct Options {
    std::string docker_host;  // empty: DOCKER_HOST or unix:///var/run/docker.sock
    std::chrono::milliseconds call_timeout{120000};
  };

  // Resolves the endpoint and negotiates the API version. Unavailable when the Engine
  // cannot be reached; FailedPrecondition when no API version fits both sides.
  static Result<std::unique_ptr<Client>> connect(Options options);
  static Result<std::unique_ptr<Client>> connect() { return connect(Options{}); }

  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  virtual ~Client() = default;

  virtual const Endpoint& endpoint() const = 0;
  virtual VersionInfo engine_version() const = 0;  // as of the last negotiation
  virtual ApiVersion api_version() const = 0;

  // ---- system -----------------------------------------------------------------------
  virtual Status ping() = 0;
  virtual Result<VersionInfo> version() = 0;
  // Renegotiates the API version now (also done automatically once on a 400 mismatch).
  virtual Status renegotiate() = 0;

  // ---- containers -------------------------------------------------------------------
  virtual Result<std::vector<ContainerSummary>> list_containers(const ListContainersOptions& options) = 0;
  virtual Result<ContainerInfo> inspect_container(std::string_view id) = 0;
  // GET /containers/{id}/top; ps_args are split on single spaces by the Engine and
  // must keep a PID column. FailedPrecondition when the container is not running.
  virtual Result<TopResult> top(std::string_view id, std::string_view ps_args = "-ef") = 0;
  virtual Status start_container(std::string_view id) = 0;                               // already running: OK
  virtual Status stop_container(std::string_view id, int timeout_seconds = 10) = 0;     // already stopped: OK
  virtual Status pause_container(std::string_view id) = 0;    // 409 when not running / already paused
  virtual Status unpause_container(std::string_view id) = 0;  // Internal when not paused (Engine says 500)
  // Returns the new container's ID. NotFound when the image is missing locally.
  virtual Result<std::string> create_container(const CreateContainerOptions& options) = 0;
  virtual Status remove_container(std::string_view id, const RemoveContainerOptions& options = {}) = 0;
  // Blocks until the container stops; returns its exit code.
  virtual Result<int> wait_container(std::string_view id, const StopToken& stop = {}) = 0;

  // ---- exec -------------------------------------------------------------------------
  // Runs a command in a running container without a TTY. stdout and stderr are
  // demultiplexed frame by frame into `out` and `err` (never buffered whole); when
  // `stdin` is given it is streamed to the process concurrently and closed with a
  // half-close at EOF, so the process sees a clean end of input. Returns the exit
  // code (126/127: the Engine could not start the command; its text is on `out`).
  // Errors: FailedPrecondition (container not running/paused), NotFound, the sinks'
  // and stdin's own errors (the connection is then closed abruptly — the process may
  // see EOF on stdin, so restores need their own end-of-input check), Cancelled,
  // DeadlineExceeded when no exit code appears within options.exit_code_deadline.
  // `out`/`err` are not closed. stdin's reader runs on a helper thread and must
  // return eventually (EOF or error).
  virtual Result<int> exec(std::string_view container, const ExecOptions& options, Reader* stdin, Writer& out,
                           Writer& err, const StopToken& stop = {}) = 0;
  // For small commands: exec() capturing stdout and stderr (each up to `limit` bytes,
  // else ResourceExhausted).
  Result<ExecOutput> exec_capture(std::string_view container, const ExecOptions& options, size_t limit = 1 << 20,
                                  const StopToken& stop = {});
  virtual Result<ExecInspect> inspect_exec(std::string_view exec_id) = 0;

  // ---- archive ----------------------------------------------------------------------
  // HEAD /containers/{id}/archive. NotFound when the path does not exist.
  virtual Result<PathStat> stat_path(std::string_view container, std::string_view path) = 0;
  // The tar of `path` (docker cp rules: "/d" → "d/…", "/d/." → "./…"), pulled from the
  // returned reader. Never compressed. Works on created, running, paused and exited
  // containers.
  virtual Result<std::unique_ptr<ArchiveReader>> open_archive(std::string_view container, std::string_view path,
                                                              const StopToken& stop = {}) = 0;
  // open_archive() copied into tar_out.
  Status get_archive(std::string_view container, std::string_view path, Writer& tar_out, const StopToken& stop = {});
  enum class Overwrite { kAllow, kNoDirNonDirSwap };
  // Extracts a tar (read from tar_in until EOF) into the existing directory `path`.
  // Ownership comes from the tar headers (copyUIDGID is never sent). An Engine error
  // while uploading is reported, not lost in a broken pipe.
  virtual Status put_archive(std::string_view container, std::string_view path, Reader& tar_in,
                             Overwrite overwrite = Overwrite::kAllow, const StopToken& stop = {}) = 0;

  // ---- volumes ----------------------------------------------------------------------
  virtual Result<std::vector<VolumeInfo>> list_volumes(const std::vector<std::string>& label_filters = {}) = 0;
  virtual Result<VolumeInfo> inspect_volume(std::string_view name) = 0;
  // An existing name returns the existing volume unchanged (labels too; notes §4.4).
  virtual Result<VolumeInfo> create_volume(const CreateVolumeOptions& options) = 0;
  virtual Status remove_volume(std::string_view name, bool force = false) = 0;

  // ---- networks ---------------------------------------------------------------------
  virtual Result<std::vector<NetworkSummary>> list_networks(const std::vector<std::string>& label_filters = {}) = 0;
  // NotFound when there is no network of that name or ID.
  virtual Result<NetworkSummary> inspect_network(std::string_view name) = 0;
  // Returns the new network's ID; AlreadyExists (409) when the name is taken.
  virtual Result<std::string> create_network(const CreateNetworkOptions& options) = 0;
  // NotFound when gone; FailedPrecondition-like Engine errors (in use) pass through.
  virtual Status remove_network(std::string_view id) = 0;

  // ---- images -----------------------------------------------------------------------
  virtual Result<std::vector<ImageSummary>> list_images(const std::vector<std::string>& label_filters = {}) = 0;
  virtual Result<ImageInfo> inspect_image(std::string_view reference) = 0;
  // Pulls `reference` (the tag defaults to "latest"; never all tags). Every progress
  // line is scanned for errors (a failed pull can still answer 200). `progress`
  // receives each status line's text, when given.
  virtual Status pull_image(std::string_view reference, const std::function<void(std::string_view)>& progress = {},
                            const StopToken& stop = {}) = 0;

  // ---- events -----------------------------------------------------------------------
  // Streams events (since/until: unix seconds, 0 = unset) to `callback` until it
  // returns false, `until` passes, or `stop` is requested (then Cancelled).
  virtual Status events(const EventFilters& filters, int64_t since, int64_t until,
                        const std::function<Result<bool>(const Event&)>& callback, const StopToken& stop = {}) = 0;
};

}  // namespace stacksnap::docker
