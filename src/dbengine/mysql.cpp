#include "dbengine/mysql.h"

#include <thread>

#include "base/clock.h"
#include "dbengine/mysql_counter.h"

namespace stacksnap::dbengine {

namespace {

struct Conn {
  std::string user = "root";
  std::string password;
  std::string client;     // mariadb | mysql
  std::string dump_tool;  // mariadb-dump | mysqldump
  bool tcp = true;
  bool all_databases = true;
  std::string database;   // when not all databases (no root password known)

  std::vector<std::string> env() const { return {"MYSQL_PWD=" + password}; }
  std::vector<std::string> conn_args() const {
    std::vector<std::string> a = {"-u" + user};
    if (tcp) {
      a.push_back("-h127.0.0.1");
      a.push_back("--protocol=tcp");
    }
    return a;
  }
  ExecRequest query(const std::string& sql) const {
    std::vector<std::string> cmd = {client};
    for (auto& a : conn_args()) cmd.push_back(a);
    for (const char* a : {"--batch", "--skip-column-names", "--raw", "-e"}) cmd.push_back(a);
    cmd.push_back(sql);
    return {.cmd = cmd, .env = env()};
  }
};

Result<Conn> credentials(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c;
  auto root = TRY(env_or_file(ex, facts, {"MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"}, ctx));
  if (root) {
    c.password = *root;
  } else if (facts.env.count("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD") || facts.env.count("MYSQL_ALLOW_EMPTY_PASSWORD")) {
    c.password.clear();
  } else {
    auto user = TRY(env_or_file(ex, facts, {"MARIADB_USER", "MYSQL_USER"}, ctx));
    auto pw = TRY(env_or_file(ex, facts, {"MARIADB_PASSWORD", "MYSQL_PASSWORD"}, ctx));
    auto db = TRY(env_or_file(ex, facts, {"MARIADB_DATABASE", "MYSQL_DATABASE"}, ctx));
    if (!user || !pw || !db) {
      return failed_precondition("mysql in " + facts.name +
                                 ": no root password in the container environment (MARIADB_ROOT_PASSWORD, "
                                 "MYSQL_ROOT_PASSWORD or their _FILE variants) and no application user to fall back to");
    }
    ctx.warn("mysql in " + facts.name + ": no root password known; dumping only database " + *db + " as user " + *user);
    c.user = *user;
    c.password = *pw;
    c.all_databases = false;
    c.database = *db;
  }
  // Which client tools the image ships.
  auto which = TRY(run_capture(
      ex, {.cmd = {"sh", "-c", "command -v mariadb-dump || command -v mysqldump; command -v mariadb || command -v mysql"}},
      ctx.stop()));
  for (const auto& line : split_lines(which.out)) {
    std::string base = line.substr(line.rfind('/') + 1);
    if ((base == "mariadb-dump" || base == "mysqldump") && c.dump_tool.empty()) c.dump_tool = base;
    if ((base == "mariadb" || base == "mysql") && c.client.empty()) c.client = base;
  }
  if (c.dump_tool.empty() || c.client.empty()) {
    return failed_precondition("mysql in " + facts.name +
                               ": neither mariadb-dump nor mysqldump (and a client) found in the container");
  }
  return c;
}

bool refused(const std::string& err) {
  return err.find("Can't connect") != std::string::npos || err.find("Connection refused") != std::string::npos ||
         err.find("(111)") != std::string::npos || err.find("(115)") != std::string::npos;
}

Result<Conn> connect(Executor& ex, const ContainerFacts& facts, job::Context& ctx, Transport transport) {
  Conn c = TRY(credentials(ex, facts, ctx));
  auto probe = TRY(run_capture(ex, c.query("SELECT 1"), ctx.stop()));
  if (probe.exit_code == 0) return c;
  if (transport == Transport::kTcpThenSocket && refused(probe.err)) {
    c.tcp = false;
    auto sock = TRY(run_capture(ex, c.query("SELECT 1"), ctx.stop()));
    if (sock.exit_code == 0) {
      ctx.info("mysql in " + facts.name + " refuses TCP on 127.0.0.1; using its local socket");
      return c;
    }
    probe = sock;
  }
  std::string tail = ctx.redact(stderr_tail(probe.err));
  Code code = tail.find("Access denied") != std::string::npos ? Code::kUnauthenticated : Code::kUnavailable;
  return Error(code, "connect to mysql in " + facts.name + " as " + c.user + ": " + tail);
}

}  // namespace

Result<DumpInfo> MysqlEngine::dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpThenSocket));
  DumpInfo info{.engine = "mysql", .tool = c.dump_tool};
  auto ver = TRY(run_checked(ex, c.query("SELECT VERSION()"), "mysql version in " + facts.name, ctx));
  info.version = split_lines(ver).empty() ? "" : split_lines(ver)[0];

  std::vector<std::string> cmd = {c.dump_tool};
  for (auto& a : c.conn_args()) cmd.push_back(a);
  for (const char* a : {"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob"}) cmd.push_back(a);
  if (c.all_databases) {
    cmd.push_back("--all-databases");
    cmd.push_back("--flush-privileges");
  } else {
    cmd.push_back("--databases");
    cmd.push_back(c.database);
  }
  std::string step = "dump:" + facts.name;
  job::StepTimer t(ctx, step, "Dump mysql databases in " + facts.name + " with " + c.dump_tool);
  MysqlRowCounter counter;
  auto n = stream_dump(ex, {.cmd = cmd, .env = c.env()}, sink, "all-databases.sql",
                       c.dump_tool + " in " + facts.name, ctx, step, &counter);
  if (!n.ok()) return t.end_with(n).error();
  info.counts = counter.counts();
  info.databases = counter.databases();
  info.files.push_back({"all-databases.sql", "mysql_sql", c.all_databases ? "" : c.database, *n});
  t.end(true, std::to_string(*n) + " bytes, " + std::to_string(info.counts.size()) + " tables");
  return info;
}

Status MysqlEngine::wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                               job::Context& ctx) {
  double deadline = monotonic_seconds() + static_cast<double>(timeout.count());
  std::string last;
  while (monotonic_seconds() < deadline) {
    TRY(ctx.check_cancel("waiting for mysql"));
    TRY(check_still_running(ex, facts, "mysql", last));
    auto c = connect(ex, facts, ctx, Transport::kTcpOnly);
    if (c.ok()) return {};
    last = c.error().message();
    if (c.error().code() == Code::kFailedPrecondition) return std::move(c).error();
    // "Access denied" can also come from the init phase (root has no password yet
    // while the entrypoint sets it up), so it is retried until the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return deadline_exceeded("mysql in " + facts.name + " was not ready within " + std::to_string(timeout.count()) +
                           " s: " + last);
}

Status MysqlEngine::restore(Executor& ex, ContainerControl&, const ContainerFacts& facts, const DumpInfo& info, DumpSource& src,
                            job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpOnly));
  for (const auto& f : info.files) {
    if (f.kind != "mysql_sql") continue;
    std::string step = "replay:" + facts.name;
    job::StepTimer t(ctx, step, "Restore mysql databases in " + facts.name);
    auto in = TRY(src.open(f.name));
    std::vector<std::string> cmd = {c.client};
    for (auto& a : c.conn_args()) cmd.push_back(a);
    auto cap = run_capture(ex, {.cmd = cmd, .env = c.env()}, ctx.stop(), in.get());
    if (!cap.ok()) return t.end_with(cap).error();
    if (cap->exit_code != 0) {
      Error e = internal_error("restore mysql in " + facts.name + ": " + c.client + " exited " +
                               std::to_string(cap->exit_code) + ": " + ctx.redact(stderr_tail(cap->err)));
      t.end(false, e.message());
      return e;
    }
    t.end(true);
  }
  return {};
}

Result<std::vector<TableCount>> MysqlEngine::count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpThenSocket));
  auto tables = TRY(run_checked(
      ex,
      c.query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
              "table_schema NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema') ORDER BY 1, 2"),
      "list tables in " + facts.name, ctx));
  std::vector<TableCount> out;
  std::string sql;
  for (const auto& line : split_lines(tables)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string db = line.substr(0, tab), table = line.substr(tab + 1);
    if (!sql.empty()) sql += " UNION ALL ";
    sql += "SELECT COUNT(*) FROM " + mysql_quote_ident(db) + "." + mysql_quote_ident(table);
    out.push_back({db, table, 0});
  }
  if (out.empty()) return out;
  auto counts = TRY(run_checked(ex, c.query(sql), "count rows in " + facts.name, ctx));
  auto lines = split_lines(counts);
  if (lines.size() != out.size()) return internal_error("count rows in " + facts.name + ": unexpected answer");
  for (size_t i = 0; i < out.size(); ++i) out[i].rows = std::stoll(lines[i]);
  return out;
}

}  // namespace stacksnap::dbengine
