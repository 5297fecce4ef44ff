#include "engine/redis.h"

#include <thread>

#include "base/clock.h"

namespace stacksnap::engine {

// ---- RDB header scanning ------------------------------------------------------------

namespace {
constexpr unsigned char kOpAux = 0xFA, kOpResizeDb = 0xFB, kOpSelectDb = 0xFE, kOpEof = 0xFF;
constexpr unsigned char kOpModuleAux = 0xF7, kOpFunction2 = 0xF5, kOpFunction = 0xF6;

// Length encoding; returns false when more bytes are needed. `special` is set for
// the 11xxxxxx string encodings (value = format).
bool read_len(const std::string& b, size_t& p, uint64_t& v, bool& special) {
  if (p >= b.size()) return false;
  auto c = static_cast<unsigned char>(b[p]);
  special = false;
  switch (c >> 6) {
    case 0: v = c & 0x3F; p += 1; return true;
    case 1:
      if (p + 2 > b.size()) return false;
      v = (static_cast<uint64_t>(c & 0x3F) << 8) | static_cast<unsigned char>(b[p + 1]);
      p += 2;
      return true;
    case 2:
      if (c == 0x80) {
        if (p + 5 > b.size()) return false;
        v = 0;
        for (int i = 1; i <= 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[p + i]);
        p += 5;
        return true;
      }
      if (c == 0x81) {
        if (p + 9 > b.size()) return false;
        v = 0;
        for (int i = 1; i <= 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[p + i]);
        p += 9;
        return true;
      }
      v = 0;
      p += 1;
      return true;
    default: special = true; v = c & 0x3F; p += 1; return true;
  }
}

// Skips one RDB string; false when more bytes are needed; sets bad on a format error.
bool skip_string(const std::string& b, size_t& p, bool& bad) {
  uint64_t len;
  bool special;
  size_t q = p;
  if (!read_len(b, q, len, special)) return false;
  if (special) {
    if (len == 0) q += 1;
    else if (len == 1) q += 2;
    else if (len == 2) q += 4;
    else if (len == 3) {  // LZF: compressed length, plain length, data
      uint64_t clen, plen;
      bool s1, s2;
      if (!read_len(b, q, clen, s1) || !read_len(b, q, plen, s2)) return false;
      q += clen;
    } else {
      bad = true;
      return true;
    }
  } else {
    q += len;
  }
  if (q > b.size()) return false;
  p = q;
  return true;
}
}  // namespace

Status RdbScanner::write(Bytes data) {
  if (done_) return {};
  buf_.append(as_chars(data).substr(0, kMaxHeader > buf_.size() ? kMaxHeader - buf_.size() : 0));
  parse();
  if (buf_.size() >= kMaxHeader) done_ = true;
  return {};
}

void RdbScanner::parse() {
  if (buf_.size() < 9) return;
  magic_ok_ = buf_.compare(0, 5, "REDIS") == 0;
  if (!magic_ok_) {
    done_ = true;
    return;
  }
  size_t p = 9;
  Db db;
  while (p < buf_.size()) {
    auto op = static_cast<unsigned char>(buf_[p]);
    size_t q = p + 1;
    bool bad = false;
    if (op == kOpAux) {
      if (!skip_string(buf_, q, bad) || (!bad && !skip_string(buf_, q, bad))) return;
    } else if (op == kOpSelectDb) {
      uint64_t n;
      bool special;
      if (!read_len(buf_, q, n, special)) return;
      db.number = static_cast<int64_t>(n);
    } else if (op == kOpResizeDb) {
      uint64_t keys, expires;
      bool s1, s2;
      if (!read_len(buf_, q, keys, s1) || !read_len(buf_, q, expires, s2)) return;
      db.keys = static_cast<int64_t>(keys);
      db.expires = static_cast<int64_t>(expires);
      first_ = db;
      done_ = true;
      return;
    } else if (op == kOpEof) {
      saw_eof_opcode_ = true;
      done_ = true;
      return;
    } else if (op == kOpModuleAux || op == kOpFunction || op == kOpFunction2) {
      done_ = true;  // layouts we do not walk; counts stay unknown
      return;
    } else {
      done_ = true;  // a key/value before any RESIZEDB: unknown layout
      return;
    }
    if (bad) {
      done_ = true;
      return;
    }
    p = q;
  }
}

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
    n = stream_dump(ex, c.cmd({"--rdb", "-"}), sink, "dump.rdb", c.cli + " --rdb in " + facts.name, ctx, step,
                    &scanner);
  } else {
    info.tool = "BGSAVE + copy";
    n = dump_by_bgsave(ex, c, facts, sink, ctx, step, scanner);
  }
  if (!n.ok()) return t.end_with(n).error();
  if (!scanner.valid_magic()) {
    Error e = data_loss("redis dump of " + facts.name + " is not an RDB file");
    t.end(false, e.message());
    return e;
  }
  if (auto db = scanner.first_db()) {
    info.counts.push_back({"db" + std::to_string(db->number < 0 ? 0 : db->number), "keys", db->keys});
    // Keys with a TTL may expire before a drill loads them; other databases come after
    // the first one's keys in the RDB and are not walked.
    info.counts_exact = db->expires == 0 && keyspace_before.size() <= 1;
  } else if (scanner.empty_rdb()) {
    info.counts_exact = true;
  } else {
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

Status RedisEngine::restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                            DumpSource& src, job::Context& ctx) {
  const DumpFile* rdb = nullptr;
  for (const auto& f : info.files) {
    if (f.kind == "redis_rdb") rdb = &f;
  }
  if (!rdb) return {};
  std::string step = "replay:" + facts.name;
  job::StepTimer t(ctx, step, "Restore redis in " + facts.name);
  Conn c = TRY(credentials(ex, facts, ctx));
  auto dir = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", "dir"}, facts, ctx)));
  auto file = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", "dbfilename"}, facts, ctx)));
  auto aof = split_lines(TRY(redis_query(ex, c, {"CONFIG", "GET", "appendonly"}, facts, ctx)));
  if (dir.size() < 2 || file.size() < 2) return internal_error("redis CONFIG GET dir/dbfilename: unexpected answer");
  if (aof.size() >= 2 && aof[1] == "yes") {
    Error e = unimplemented("restore redis in " + facts.name +
                            ": the server runs with appendonly yes, which would ignore a restored RDB; "
                            "StackSnap cannot replay into AOF mode yet");
    t.end(false, e.message());
    return e;
  }
  auto owner = TRY(run_checked(ex, {.cmd = {"stat", "-c", "%u %g", dir[1]}}, "owner of " + dir[1], ctx));
  int uid = 0, gid = 0;
  if (std::sscanf(owner.c_str(), "%d %d", &uid, &gid) != 2) return internal_error("stat of " + dir[1] + ": " + owner);
  // Stop first: a running server would overwrite the file at shutdown.
  TRY_CTX(ctl.stop(ctx.stop()), "stop " + facts.name);
  auto in = TRY(src.open(rdb->name));
  Status put = ctl.put_file(dir[1], file[1], *in, rdb->bytes, 0644, uid, gid);
  Status started = ctl.start(ctx.stop());
  if (!put.ok()) return t.end_with(put).error().with_context("put " + file[1] + " into " + facts.name);
  if (!started.ok()) return t.end_with(started).error().with_context("start " + facts.name);
  auto ready = wait_ready(ex, facts, std::chrono::seconds(120), ctx);
  t.end_with(ready);
  return ready;
}

Result<std::vector<TableCount>> RedisEngine::count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c = TRY(credentials(ex, facts, ctx));
  return parse_keyspace(TRY(redis_query(ex, c, {"INFO", "keyspace"}, facts, ctx)));
}

}  // namespace stacksnap::engine
