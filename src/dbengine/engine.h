// Database engines: detect credentials, dump inside the container, restore, readiness,
// row counts. One file pair per engine (postgres, mysql, redis).
//
// Engines never talk to the Docker Engine directly: they run commands through an
// Executor bound to one container (in production: docker exec via the Engine API; in
// unit tests: a scripted fake). Credentials travel in the exec environment
// (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), never on a command line, and are registered
// with the job context for redaction.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"
#include "job/context.h"

namespace stacksnap::dbengine {

using Json = nlohmann::json;

struct ExecRequest {
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string user;              // empty: the container's user
};

// Runs commands inside one container. Thread-safe: several execs may run at once.
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs cmd with stdin from `in` (nullptr: no stdin), stdout → out, stderr → err.
  // Returns the exit code; an Error only when the exec itself could not run.
  virtual Result<int> run(const ExecRequest& req, Reader* in, Writer& out, Writer& err, const StopToken& stop) = 0;
  // Human name of the container for messages ("shop_db_1").
  virtual std::string container_name() const = 0;
  // False once the container is known to have stopped (whoever waits on a command in it
  // can give up at once); true while it runs or when that cannot be told.
  virtual bool container_running() { return true; }
};

// How an engine's client reaches its server inside the container: TCP on 127.0.0.1
// first (the password is checked), and its local socket when TCP is refused — or TCP only
// (where a socket connection would check less than the caller needs).
enum class Transport { kTcpThenSocket, kTcpOnly };

// What an engine may learn about its container.
struct ContainerFacts {
  std::string name;
  std::map<std::string, std::string> env;  // Config.Env
  std::vector<std::string> cmd;            // Config.Cmd (e.g. redis-server --requirepass …)
  std::vector<std::string> entrypoint;
  std::map<std::string, std::string> labels;
};

struct TableCount {
  std::string database;
  std::string table;  // schema-qualified where the engine has schemas ("public.accounts")
  int64_t rows = 0;
  // How many rows a restored count may lack without a failure: keys with a TTL, which can
  // expire before a restore loads them. 0: the count is exact.
  int64_t may_expire = 0;
  // The count is an estimate taken beside the dump, not from it (compared for information
  // only, never a failure).
  bool estimate = false;
  bool operator==(const TableCount&) const = default;
};

struct DumpFile {
  std::string name;      // file name inside dumps/<service>/ ("shop.pgdump")
  std::string kind;      // "pg_globals" | "pg_custom" | "mysql_sql" | "redis_rdb"
  std::string database;  // for per-database dumps
  uint64_t bytes = 0;
};

struct DumpInfo {
  std::string engine;   // "postgres" | "mysql" | "redis"
  std::string version;  // server version string
  std::string tool;     // "pg_dump 15.x", "mariadb-dump", "redis-cli --rdb"
  std::vector<std::string> databases;
  std::vector<TableCount> counts;
  // Counts describe the dump itself (snapshot or stream) and list every table: one that a
  // restore has beyond them is a difference. Per-count tolerance: TableCount.
  bool counts_exact = true;
  std::vector<DumpFile> files;
  Json to_json() const;
  static Result<DumpInfo> from_json(const Json& j);
};

// Where a dump's files go: the archive writer, one entry per file, streamed.
class DumpSink {
 public:
  virtual ~DumpSink() = default;
  // Opens dumps/<service>/<name>. The returned writer's close() completes the entry;
  // destroying it unclosed abandons the backup.
  virtual Result<std::unique_ptr<Writer>> open(const std::string& name) = 0;
};

// Where a restore reads dump files from (the authenticated archive).
class DumpSource {
 public:
  virtual ~DumpSource() = default;
  virtual Result<std::unique_ptr<Reader>> open(const std::string& name) = 0;
};

// One file or directory for ContainerControl::put_files.
struct PutEntry {
  std::string path;           // relative to the target directory; parents come earlier in the list
  Reader* content = nullptr;  // regular files: exactly `size` bytes
  uint64_t size = 0;
  bool directory = false;
  int mode = 0644;            // directories: 0755
};

// Container-level operations some restores need (Redis: stop, put the RDB, start).
class ContainerControl {
 public:
  virtual ~ContainerControl() = default;
  virtual Status stop(const StopToken& stop) = 0;
  virtual Status start(const StopToken& stop) = 0;
  // Writes files and directories under `dir` (which must exist), in order, all owned by
  // uid:gid; existing files of the same names are replaced.
  virtual Status put_files(const std::string& dir, const std::vector<PutEntry>& entries, int uid, int gid) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // Dumps every database consistently, streaming into `sink`. A dump command that
  // exits non-zero or writes nothing fails with its stderr in the message.
  virtual Result<DumpInfo> dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) = 0;
  // Waits until the server accepts authenticated queries (DeadlineExceeded after timeout).
  virtual Status wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                            job::Context& ctx) = 0;
  // Replays a dump taken by dump() into a running, ready server.
  virtual Status restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                         DumpSource& src, job::Context& ctx) = 0;
  // Row counts of user tables now (drills compare them with DumpInfo::counts).
  virtual Result<std::vector<TableCount>> count_rows(Executor& ex, const ContainerFacts& facts,
                                                     job::Context& ctx) = 0;
};

// "postgres" | "mysql" | "redis" → engine; NotFound otherwise.
Result<std::unique_ptr<Engine>> make_engine(const std::string& name);

// Helpers shared by the engines.
// Runs a command and captures stdout (limit 16 MiB) and stderr; non-zero exit →
// Error "<what>: <cmd0> exited N: <stderr tail>".
struct Captured {
  int exit_code = 0;
  std::string out;
  std::string err;
};
Result<Captured> run_capture(Executor& ex, const ExecRequest& req, const StopToken& stop, Reader* in = nullptr);
Result<std::string> run_checked(Executor& ex, const ExecRequest& req, const std::string& what, job::Context& ctx,
                                Reader* in = nullptr);
// A value from the container env, or from the file named by <NAME>_FILE (read inside
// the container with `cat`). Tries names in order. Empty optional when none is set.
Result<std::optional<std::string>> env_or_file(Executor& ex, const ContainerFacts& facts,
                                               const std::vector<std::string>& names, job::Context& ctx);
// Row counts after a restore against those of the dump.
//  failures: an exact count that differs, a count outside its tolerance, a table missing,
//            or (when `complete`, i.e. DumpInfo::counts_exact) a table the dump did not have;
//  notes:    differences that are fine: TTL keys that expired (within may_expire),
//            estimates, extra tables when the dump's list was not complete.
struct CountCheck {
  std::vector<std::string> failures;
  std::vector<std::string> notes;
};
CountCheck check_counts(const std::vector<TableCount>& expected, const std::vector<TableCount>& actual,
                        bool complete);
// Runs `req` and streams its stdout into a new dump entry `file` (progress reported
// under `step`; every chunk also goes to `observer` when given, e.g. a row counter).
// Fails on a non-zero exit (with stderr) or an empty output; stderr goes to the log.
Result<uint64_t> stream_dump(Executor& ex, const ExecRequest& req, DumpSink& sink, const std::string& file,
                             const std::string& what, job::Context& ctx, const std::string& step,
                             Writer* observer = nullptr);
// The file name of one database's dump: `name` with every byte other than a-z, 0-9, '-'
// and '_' written as %XX (upper-case letters included), then `ext`. Unique per name, also
// on case-insensitive file systems, and reversible (dump_name_from_file).
std::string dump_file_name(const std::string& name, const std::string& ext);
// The name back from dump_file_name's result; nullopt when `file` is not one.
std::optional<std::string> dump_name_from_file(const std::string& file, const std::string& ext);
// For readiness loops: Unavailable "<engine> in <container> stopped while StackSnap
// waited for it (…): <last error>" once the container is known to have stopped (a
// server that fails at start-up is reported at once, not after the whole timeout).
Status check_still_running(Executor& ex, const ContainerFacts& facts, const std::string& engine,
                           const std::string& last_error);
// Non-empty lines of s (CR stripped).
std::vector<std::string> split_lines(const std::string& s);
// The last ~2 KB of stderr, trimmed, for error messages.
std::string stderr_tail(const std::string& err);

}  // namespace stacksnap::dbengine
