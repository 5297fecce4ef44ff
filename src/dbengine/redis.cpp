#include "dbengine/redis.h"

#include <thread>

#include "base/clock.h"
#include "base/scope.h"
#include "dbengine/rdb_scan.h"

namespace stacksnap::dbengine {

std::optional<std::string> requirepass_from_args(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--requirepass") return args[i + 1];
  }
  return std::nullopt;
}

std::vector<TableCount> parse_keyspace(const std::string& info) {
  std::vector<TableCount> out;
  for (const auto& line : split_lines(info)) {
    if (line.rfind("db", 0) != 0) continue;
    size_t colon = line.find(':');
    size_t keys = line.find("keys=");
    if (colon == std::string::npos || keys == std::string::npos) continue;
    try {
      out.push_back({line.substr(0, colon), "keys", std::stoll(line.substr(keys + 5))});
    } catch (...) {
    }
  }
  return out;
}

// ---- the engine ------------------------------------------------------------------------

namespace {

struct Conn {
  std::string cli = "redis-cli";
  std::optional<std::string> password;
  std::string port = "6379";
  std::vector<std::string> env() const {
    std::vector<std::string> e;
    if (password) e.push_back("REDISCLI_AUTH=" + *password);
    return e;
  }
  ExecRequest cmd(std::vector<std::string> args) const {
    std::vector<std::string> c = {cli, "-h", "127.0.0.1", "-p", port};
    for (auto& a : args) c.push_back(std::move(a));
    return {.cmd = c, .env = env()};
  }
};

std::string info_field(const std::string& info, const std::string& key) {
  for (const auto& line : split_lines(info)) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

Result<Conn> credentials(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c;
  std::vector<std::string> args = facts.entrypoint;
  args.insert(args.end(), facts.cmd.begin(), facts.cmd.end());
  c.password = requirepass_from_args(args);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--port") c.port = args[i + 1];
  }
  if (!c.password) {
    // A config file on the command line (redis-server /etc/redis/redis.conf).
    for (const auto& a : args) {
      if (a.size() > 5 && a.compare(a.size() - 5, 5, ".conf") == 0) {
        auto conf = run_capture(ex, {.cmd = {"cat", a}}, ctx.stop());
        if (!conf.ok() || conf->exit_code != 0) continue;
        for (const auto& line : split_lines(conf->out)) {
          if (line.rfind("requirepass ", 0) == 0) {
            std::string pw = line.substr(12);
            if (pw.size() >= 2 && pw.front() == '"' && pw.back() == '"') pw = pw.substr(1, pw.size() - 2);
            c.password = pw;
          }
          if (line.rfind("port ", 0) == 0) c.port = line.substr(5);
        }
      }
    }
  }
  if (!c.password) c.password = TRY(env_or_file(ex, facts, {"REDIS_PASSWORD"}, ctx));
  if (c.password) ctx.add_secret(*c.password);
  auto which = TRY(run_capture(
      ex, {.cmd = {"sh", "-c", "command -v redis-cli || command -v valkey-cli || command -v keydb-cli"}}, ctx.stop()));
  auto lines = split_lines(which.out);
  if (!lines.empty()) c.cli = lines[0].substr(lines[0].rfind('/') + 1);
  return c;
}

Result<std::string> redis_query(Executor& ex, const Conn& c, std::vector<std::string> args, const ContainerFacts& facts,
                                job::Context& ctx) {
  std::string what = "redis " + args[0] + " in " + facts.name;
  auto cap = TRY_CTX(run_capture(ex, c.cmd(std::move(args)), ctx.stop()), what);
  // redis-cli exits 0 even for server errors; they come back as "(error) …" or "ERR …"/"NOAUTH …".
  std::string out = cap.out;
  bool server_error = out.rfind("NOAUTH", 0) == 0 || out.rfind("WRONGPASS", 0) == 0 || out.rfind("ERR", 0) == 0 ||
                      out.rfind("LOADING", 0) == 0 || out.rfind("(error)", 0) == 0;
  if (cap.exit_code != 0 || server_error) {
    std::string msg = stderr_tail(server_error ? out : (cap.err.empty() ? out : cap.err));
    Code code = (msg.find("NOAUTH") != std::string::npos || msg.find("WRONGPASS") != std::string::npos ||
                 msg.find("invalid password") != std::string::npos)
                    ? Code::kUnauthenticated
                    : Code::kUnavailable;
    return Error(code, what + ": " + ctx.redact(msg));
  }
  return out;
}

// CONFIG GET of one parameter: nullopt when the server does not know it.
Result<std::optional<std::string>> config_get(Executor& ex, const Conn& c, const std::string& param,
                                              const ContainerFacts& facts, job::Context& ctx) {
  auto lines = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", param}, facts, ctx)));
  if (lines.size() < 2) return std::optional<std::string>();
  return std::optional<std::string>(lines[1]);
}

Result<std::string> config_require(Executor& ex, const Conn& c, const std::string& param, const ContainerFacts& facts,
                                   job::Context& ctx) {
  auto v = TRY(config_get(ex, c, param, facts, ctx));
  if (!v) return internal_error("redis in " + facts.name + ": CONFIG GET " + param + " gave no value");
  return *v;
}

// The replication snapshot `--rdb` asks for starts only after repl-diskless-sync-delay
// (Redis 7 default: 5 s, waiting for more replicas to share it). It is set to 0 for the
// moment of the dump and put back afterwards; a server whose CONFIG is disabled keeps its
// delay (said in the log).
class NoSyncDelay {
 public:
  NoSyncDelay(Executor& ex, const Conn& c, const ContainerFacts& facts, job::Context& ctx, const std::string& step)
      : ex_(ex), c_(c), facts_(facts), ctx_(ctx) {
    auto before = config_get(ex, c, "repl-diskless-sync-delay", facts, ctx);
    if (!before.ok() || !*before || **before == "0") {
      if (!before.ok()) ctx.info("redis in " + facts.name + ": CONFIG is not available (" + before.error().message() +
                                 "); the replication snapshot waits repl-diskless-sync-delay", step);
      return;
    }
    if (redis_query(ex, c, {"CONFIG", "SET", "repl-diskless-sync-delay", "0"}, facts, ctx).ok()) previous_ = **before;
  }
  ~NoSyncDelay() {
    if (previous_.empty()) return;
    auto st = redis_query(ex_, c_, {"CONFIG", "SET", "repl-diskless-sync-delay", previous_}, facts_, ctx_);
    if (!st.ok()) ctx_.warn("redis in " + facts_.name + ": could not put repl-diskless-sync-delay back to " +
                            previous_ + ": " + st.error().message());
  }
  NoSyncDelay(const NoSyncDelay&) = delete;
  NoSyncDelay& operator=(const NoSyncDelay&) = delete;

 private:
  Executor& ex_;
  const Conn& c_;
  const ContainerFacts& facts_;
  job::Context& ctx_;
  std::string previous_;
};

// Streams a BGSAVE'd RDB with cat (servers or clients without --rdb support).
Result<uint64_t> dump_by_bgsave(Executor& ex, const Conn& c, const ContainerFacts& facts, DumpSink& sink,
                                job::Context& ctx, const std::string& step, RdbScanner& scanner) {
  auto before = TRY(redis_query(ex, c, {"LASTSAVE"}, facts, ctx));
  TRY(redis_query(ex, c, {"BGSAVE"}, facts, ctx));
  for (int i = 0; i < 3600 * 5; ++i) {
    TRY(ctx.check_cancel("redis BGSAVE"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto info = TRY(redis_query(ex, c, {"INFO", "persistence"}, facts, ctx));
    auto now = TRY(redis_query(ex, c, {"LASTSAVE"}, facts, ctx));
    if (info_field(info, "rdb_bgsave_in_progress") == "0" && now != before) {
      if (info_field(info, "rdb_last_bgsave_status") != "ok") {
        return internal_error("redis BGSAVE in " + facts.name + " failed (rdb_last_bgsave_status=" +
                              info_field(info, "rdb_last_bgsave_status") + ")");
      }
      break;
    }
  }
  auto dir = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", "dir"}, facts, ctx)));
  auto file = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", "dbfilename"}, facts, ctx)));
  if (dir.size() < 2 || file.size() < 2) return internal_error("redis CONFIG GET dir/dbfilename: unexpected answer");
  return stream_dump(ex, {.cmd = {"cat", dir[1] + "/" + file[1]}}, sink, "dump.rdb",
                     "copy of " + file[1] + " in " + facts.name, ctx, step, &scanner);
}

}  // namespace

Result<DumpInfo> RedisEngine::dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) {
  Conn c = TRY(credentials(ex, facts, ctx));
  DumpInfo info{.engine = "redis"};
  auto server = TRY(redis_query(ex, c, {"INFO", "server"}, facts, ctx));
  info.version = info_field(server, "redis_version");
  if (info.version.empty()) info.version = info_field(server, "valkey_version");
  auto keyspace_before = parse_keyspace(TRY(redis_query(ex, c, {"INFO", "keyspace"}, facts, ctx)));
  for (const auto& k : keyspace_before) info.databases.push_back(k.database);

  std::string step = "dump:" + facts.name;
  job::StepTimer t(ctx, step, "Dump redis in " + facts.name);
  RdbScanner scanner;
  // `--rdb -` (RDB on stdout) needs redis-cli 7 or later; older clients get BGSAVE + cat.
  auto cli_version = run_capture(ex, {.cmd = {c.cli, "-v"}}, ctx.stop());
  int major = 0;
  if (cli_version.ok()) {
    auto words = split_lines(cli_version->out);
    if (!words.empty()) {
      size_t sp = words[0].find(' ');
      if (sp != std::string::npos) major = std::atoi(words[0].c_str() + sp + 1);
    }
  }
  Result<uint64_t> n = uint64_t{0};
  if (major >= 7) {
    info.tool = c.cli + " --rdb -";
    NoSyncDelay at_once(ex, c, facts, ctx, step);
    n = stream_dump(ex, c.cmd({"--rdb", "-"}), sink, "dump.rdb", c.cli + " --rdb in " + facts.name, ctx, step,
                    &scanner);
  } else {
    info.tool = "BGSAVE + copy";
    n = dump_by_bgsave(ex, c, facts, sink, ctx, step, scanner);
  }
  scanner.finish();
  if (!n.ok()) return t.end_with(n).error();
  if (!scanner.valid_magic()) {
    Error e = data_loss("redis dump of " + facts.name + " is not an RDB file");
    t.end(false, e.message());
    return e;
  }
  if (scanner.complete()) {
    for (const auto& [number, db] : scanner.dbs()) {
      TableCount count{"db" + std::to_string(number), "keys", db.keys};
      count.may_expire = db.expires;  // keys with a TTL may expire before a restore loads them
      info.counts.push_back(std::move(count));
    }
    info.counts_exact = true;
  } else {
    ctx.info("key counts of " + facts.name + " are estimates from INFO keyspace: " + scanner.problem(), step);
    for (auto count : keyspace_before) {
      count.estimate = true;
      info.counts.push_back(std::move(count));
    }
    info.counts_exact = false;
  }
  info.files.push_back({"dump.rdb", "redis_rdb", "", *n});
  t.end(true, std::to_string(*n) + " bytes");
  return info;
}

Status RedisEngine::wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                               job::Context& ctx) {
  double deadline = monotonic_seconds() + static_cast<double>(timeout.count());
  std::string last;
  while (monotonic_seconds() < deadline) {
    TRY(ctx.check_cancel("waiting for redis"));
    TRY(check_still_running(ex, facts, "redis", last));
    auto c = credentials(ex, facts, ctx);
    if (c.ok()) {
      auto pong = redis_query(ex, *c, {"PING"}, facts, ctx);
      if (pong.ok() && pong->find("PONG") != std::string::npos) return {};
      if (!pong.ok()) {
        if (pong.error().code() == Code::kUnauthenticated) return std::move(pong).error();
        last = pong.error().message();
      }
    } else {
      last = c.error().message();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return deadline_exceeded("redis in " + facts.name + " was not ready within " + std::to_string(timeout.count()) +
                           " s: " + last);
}

Result<AofLayout> aof_layout(const std::string& appendfilename, const std::string& appenddirname) {
  auto plain = [](const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find_first_of("/ \t\r\n\"'") == std::string::npos;
  };
  if (!plain(appendfilename) || (!appenddirname.empty() && !plain(appenddirname))) {
    return invalid_argument("redis appendfilename \"" + appendfilename + "\" / appenddirname \"" + appenddirname +
                            "\": StackSnap restores AOF only under plain file names");
  }
  if (appenddirname.empty()) return AofLayout{.base = appendfilename};
  const std::string base = appendfilename + ".1.base.rdb", incr = appendfilename + ".1.incr.aof";
  return AofLayout{.base = appenddirname + "/" + base,
                   .incr = appenddirname + "/" + incr,
                   .manifest = appenddirname + "/" + appendfilename + ".manifest",
                   .manifest_text = "file " + base + " seq 1 type b\nfile " + incr + " seq 1 type i\n",
                   .dir = appenddirname};
}

uint64_t rdb_length(uint64_t total, std::string_view tail) {
  constexpr size_t kMark = 40;
  if (total < kRdbTailBytes || tail.size() < kRdbTailBytes) return total;
  tail = tail.substr(tail.size() - kRdbTailBytes);
  if (static_cast<unsigned char>(tail[0]) != 0xFF) return total;
  for (char c : tail.substr(kRdbTailBytes - kMark)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return total;
  }
  return total - kMark;
}

namespace {
// One pass over the dump to find where its RDB ends.
Result<uint64_t> measure_rdb(DumpSource& src, const DumpFile& f) {
  auto in = TRY(src.open(f.name));
  std::string tail;
  uint64_t total = 0;
  std::vector<std::byte> buf(kCopyBuffer);
  for (;;) {
    size_t n = TRY(in->read(buf));
    if (n == 0) break;
    total += n;
    tail.append(as_chars(Bytes(buf.data(), n)));
    if (tail.size() > 2 * kRdbTailBytes) tail.erase(0, tail.size() - kRdbTailBytes);
  }
  return rdb_length(total, tail);
}
}  // namespace

Status RedisEngine::restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                            DumpSource& src, job::Context& ctx) {
  const DumpFile* rdb = nullptr;
  for (const auto& f : info.files) {
    if (f.kind == "redis_rdb") rdb = &f;
  }
  if (!rdb) return {};
  std::string step = "replay:" + facts.name;
  job::StepTimer t(ctx, step, "Restore redis in " + facts.name);
  auto st = [&]() -> Status {
    Conn c = TRY(credentials(ex, facts, ctx));
    const std::string dir = TRY(config_require(ex, c, "dir", facts, ctx));
    const std::string dbfilename = TRY(config_require(ex, c, "dbfilename", facts, ctx));
    const bool aof = TRY(config_get(ex, c, "appendonly", facts, ctx)).value_or("no") == "yes";
    std::optional<AofLayout> layout;
    if (aof) {
      layout = TRY(aof_layout(TRY(config_require(ex, c, "appendfilename", facts, ctx)),
                              TRY(config_get(ex, c, "appenddirname", facts, ctx)).value_or("")));
    }
    auto owner = TRY(run_checked(ex, {.cmd = {"stat", "-c", "%u %g", dir}}, "owner of " + dir, ctx));
    int uid = 0, gid = 0;
    if (std::sscanf(owner.c_str(), "%d %d", &uid, &gid) != 2) return internal_error("stat of " + dir + ": " + owner);
    if (layout) {
      // The AOF this server started with goes: AOF off for that moment, so that nothing
      // writes it while it is removed (the config still says yes for the next start).
      ctx.info("appendonly yes: the dump becomes the base of a new AOF in " + dir, step);
      TRY(redis_query(ex, c, {"CONFIG", "SET", "appendonly", "no"}, facts, ctx));
      const std::string old = dir + "/" + (layout->dir.empty() ? layout->base : layout->dir);
      TRY(run_checked(ex, {.cmd = {"rm", "-rf", "--", old}}, "remove the old AOF " + old, ctx));
    }
    // Stopped first: a running server would overwrite the files at shutdown.
    TRY_CTX(ctl.stop(ctx.stop()), "stop " + facts.name);
    // An AOF base must end where the RDB ends (a dump.rdb may carry trailing bytes).
    const uint64_t length = layout ? TRY(measure_rdb(src, *rdb)) : rdb->bytes;
    auto in = TRY(src.open(rdb->name));
    LimitedReader rdb_only(*in, length);
    MemoryReader empty("");
    std::vector<PutEntry> files;
    if (!layout) {
      files.push_back({.path = dbfilename, .content = in.get(), .size = rdb->bytes});
    } else {
      if (!layout->dir.empty()) files.push_back({.path = layout->dir, .directory = true});
      files.push_back({.path = layout->base, .content = &rdb_only, .size = length});
      if (!layout->incr.empty()) files.push_back({.path = layout->incr, .content = &empty, .size = 0});
    }
    const std::string manifest_text = layout ? layout->manifest_text : std::string();
    MemoryReader manifest(manifest_text);
    if (layout && !layout->manifest.empty()) {
      files.push_back({.path = layout->manifest, .content = &manifest, .size = layout->manifest_text.size()});
    }
    Status put = ctl.put_files(dir, files, uid, gid);
    Status started = ctl.start(ctx.stop());
    TRY_CTX(std::move(put), "put the dump into " + facts.name);
    TRY_CTX(std::move(started), "start " + facts.name);
    TRY(wait_ready(ex, facts, std::chrono::seconds(120), ctx));
    if (layout) {
      Conn again = TRY(credentials(ex, facts, ctx));
      auto persistence = TRY(redis_query(ex, again, {"INFO", "persistence"}, facts, ctx));
      if (info_field(persistence, "aof_enabled") != "1") {
        return internal_error("redis in " + facts.name + " came back without AOF (aof_enabled=" +
                              info_field(persistence, "aof_enabled") + ")");
      }
    }
    return {};
  }();
  t.end_with(st);
  return st;
}

Result<std::vector<TableCount>> RedisEngine::count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c = TRY(credentials(ex, facts, ctx));
  return parse_keyspace(TRY(redis_query(ex, c, {"INFO", "keyspace"}, facts, ctx)));
}

}  // namespace stacksnap::dbengine
