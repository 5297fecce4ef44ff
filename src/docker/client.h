// The Docker Engine API client.
//
//   auto docker = TRY(docker::Client::connect());          // DOCKER_HOST or the default socket
//   auto info = TRY(docker->inspect_container("shop_db_1"));
//   int rc = TRY(docker->exec("shop_db_1", {.cmd = {"pg_dump", "-U", "shop", "shop"}},
//                             nullptr, archive_entry_writer, stderr_capture, job.stop));
//
// Contract
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
#include <mutex>
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

class Exchange;  // one request/response on one connection (client_internal.h)
struct Call;

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

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  const Endpoint& endpoint() const { return endpoint_; }
  VersionInfo engine_version() const;  // as of the last negotiation
  ApiVersion api_version() const;

  // ---- system (client.cpp) --------------------------------------------------------
  Status ping();
  Result<VersionInfo> version();
  // Renegotiates the API version now (also done automatically once on a 400 mismatch).
  Status renegotiate();

  // ---- containers (containers.cpp) -----------------------------------------------
  Result<std::vector<ContainerSummary>> list_containers(const ListContainersOptions& options);
  Result<ContainerInfo> inspect_container(std::string_view id);
  // GET /containers/{id}/top; ps_args are split on single spaces by the Engine and
  // must keep a PID column. FailedPrecondition when the container is not running.
  Result<TopResult> top(std::string_view id, std::string_view ps_args = "-ef");
  Status start_container(std::string_view id);          // already running: OK
  Status stop_container(std::string_view id, int timeout_seconds = 10);  // already stopped: OK
  Status pause_container(std::string_view id);          // 409 when not running / already paused
  Status unpause_container(std::string_view id);        // Internal when not paused (Engine says 500)
  // Returns the new container's ID. NotFound when the image is missing locally.
  Result<std::string> create_container(const CreateContainerOptions& options);
  Status remove_container(std::string_view id, const RemoveContainerOptions& options = {});
  // Blocks until the container stops; returns its exit code.
  Result<int> wait_container(std::string_view id, const StopToken& stop = {});

  // ---- exec (exec.cpp) ------------------------------------------------------------
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
  Result<int> exec(std::string_view container, const ExecOptions& options, Reader* stdin, Writer& out,
                   Writer& err, const StopToken& stop = {});
  // For small commands: captures stdout and stderr (each up to `limit` bytes, else
  // ResourceExhausted).
  Result<ExecOutput> exec_capture(std::string_view container, const ExecOptions& options,
                                  size_t limit = 1 << 20, const StopToken& stop = {});
  Result<ExecInspect> inspect_exec(std::string_view exec_id);

  // ---- archive (archive.cpp) ------------------------------------------------------
  // HEAD /containers/{id}/archive. NotFound when the path does not exist.
  Result<PathStat> stat_path(std::string_view container, std::string_view path);
  // Streams the tar of `path` (docker cp rules: "/d" → "d/…", "/d/." → "./…") into tar_out.
  // Never compressed. Works on created, running, paused and exited containers.
  Status get_archive(std::string_view container, std::string_view path, Writer& tar_out,
                     const StopToken& stop = {});
  // Pull-style variant: the returned reader yields the tar stream.
  Result<std::unique_ptr<ArchiveReader>> open_archive(std::string_view container, std::string_view path,
                                                      const StopToken& stop = {});
  enum class Overwrite { kAllow, kNoDirNonDirSwap };
  // Extracts a tar (read from tar_in until EOF) into the existing directory `path`.
  // Ownership comes from the tar headers (copyUIDGID is never sent). Uses
  // Expect: 100-continue and watches for an early answer while uploading, so an
  // Engine error is reported, not lost in a broken pipe.
  Status put_archive(std::string_view container, std::string_view path, Reader& tar_in,
                     Overwrite overwrite = Overwrite::kAllow, const StopToken& stop = {});

  // ---- volumes (volumes.cpp) ------------------------------------------------------
  Result<std::vector<VolumeInfo>> list_volumes(const std::vector<std::string>& label_filters = {});
  Result<VolumeInfo> inspect_volume(std::string_view name);
  // An existing name returns the existing volume unchanged (labels too; notes §4.4).
  Result<VolumeInfo> create_volume(const CreateVolumeOptions& options);
  Status remove_volume(std::string_view name, bool force = false);

  // ---- networks (networks.cpp) ----------------------------------------------------
  Result<std::vector<NetworkSummary>> list_networks(const std::vector<std::string>& label_filters = {});
  // NotFound when there is no network of that name or ID.
  Result<NetworkSummary> inspect_network(std::string_view name);
  // Returns the new network's ID; AlreadyExists (409) when the name is taken.
  Result<std::string> create_network(const CreateNetworkOptions& options);
  // NotFound when gone; FailedPrecondition-like Engine errors (in use) pass through.
  Status remove_network(std::string_view id);

  // ---- images (images.cpp) --------------------------------------------------------
  Result<std::vector<ImageSummary>> list_images(const std::vector<std::string>& label_filters = {});
  Result<ImageInfo> inspect_image(std::string_view reference);
  // Pulls `reference` (the tag defaults to "latest"; never all tags). Every progress
  // line is scanned for errors (a failed pull can still answer 200). `progress`
  // receives each status line's text, when given.
  Status pull_image(std::string_view reference, const std::function<void(std::string_view)>& progress = {},
                    const StopToken& stop = {});

  // ---- events (events.cpp) --------------------------------------------------------
  // Streams events (since/until: unix seconds, 0 = unset) to `callback` until it
  // returns false, `until` passes, or `stop` is requested (then Cancelled).
  Status events(const EventFilters& filters, int64_t since, int64_t until,
                const std::function<Result<bool>(const Event&)>& callback, const StopToken& stop = {});

 private:
  Client(Endpoint endpoint, Options options);
  friend class Exchange;

  // Opens a connection, sends the request, reads the response head. Non-2xx answers
  // (other than 101 and those in `call.accept`) become Errors with call.op as context.
  Result<std::unique_ptr<Exchange>> open(const Call& call, const StopToken& stop = {});
  // open() + read the whole (small) body.
  Result<std::string> request(const Call& call);
  std::string versioned(std::string_view path) const;
  Result<VersionInfo> fetch_version();

  Endpoint endpoint_;
  Options options_;
  VersionInfo version_;
  mutable std::mutex mu_;
  ApiVersion api_version_{kMinApiVersion};
};

}  // namespace stacksnap::docker
