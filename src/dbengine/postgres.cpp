#include "dbengine/postgres.h"

#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "base/hex.h"
#include "dbengine/session.h"

namespace stacksnap::dbengine {

// Names travel hex-encoded (UTF-8): a table name may hold '|', newlines, anything.
const char* const kPgCountQuery =
    "SELECT encode(convert_to(n.nspname || '.' || c.relname, 'UTF8'), 'hex') || '|' || "
    "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), "
    "false, true, '')))[1]::text "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1;";

namespace {

constexpr const char* kMaintenanceDb = "postgres";
constexpr auto kSessionTimeout = std::chrono::seconds(600);

struct Conn {
  std::string user;
  std::optional<std::string> password;
  bool tcp = true;

  std::vector<std::string> env() const {
    std::vector<std::string> e = {"PGUSER=" + user, "PGAPPNAME=stacksnap", "PGCONNECT_TIMEOUT=10",
                                  "PGCLIENTENCODING=UTF8"};
    if (password) e.push_back("PGPASSWORD=" + *password);
    if (tcp) e.push_back("PGHOST=127.0.0.1");
    return e;
  }
  ExecRequest psql(const std::string& db, const std::string& sql) const {
    return {.cmd = {"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", pg_dbname_conninfo(db), "-c", sql},
            .env = env()};
  }
};

Result<Conn> credentials(Executor& ex, const ContainerFacts& facts, job::Context& ctx) {
  Conn c;
  auto user = TRY(env_or_file(ex, facts, {"POSTGRES_USER"}, ctx));
  c.user = user.value_or("postgres");
  c.password = TRY(env_or_file(ex, facts, {"POSTGRES_PASSWORD"}, ctx));
  return c;
}

bool connection_refused(const std::string& err) {
  return err.find("Connection refused") != std::string::npos ||
         err.find("could not connect to server") != std::string::npos ||
         err.find("Cannot assign requested address") != std::string::npos;
}

// Finds a working connection: TCP first (password checked), the socket when TCP is refused.
Result<Conn> connect(Executor& ex, const ContainerFacts& facts, job::Context& ctx, Transport transport) {
  Conn c = TRY(credentials(ex, facts, ctx));
  auto probe = TRY(run_capture(ex, c.psql(kMaintenanceDb, "SELECT 1"), ctx.stop()));
  if (probe.exit_code == 0) return c;
  if (transport == Transport::kTcpThenSocket && connection_refused(probe.err)) {
    c.tcp = false;
    auto sock = TRY(run_capture(ex, c.psql(kMaintenanceDb, "SELECT 1"), ctx.stop()));
    if (sock.exit_code == 0) {
      ctx.info("postgres in " + facts.name + " refuses TCP on 127.0.0.1; using its local socket");
      return c;
    }
    probe = sock;
  }
  if (probe.exit_code == 127 || probe.exit_code == 126) {
    return failed_precondition("postgres in " + facts.name + ": psql is not available in the container");
  }
  std::string tail = ctx.redact(stderr_tail(probe.err));
  Code code = tail.find("authentication failed") != std::string::npos ? Code::kUnauthenticated : Code::kUnavailable;
  return Error(code, "connect to postgres in " + facts.name + " as " + c.user + ": " + tail);
}

// Every database that accepts connections, names decoded from hex (they may hold newlines).
constexpr const char* kListDatabases =
    "SELECT encode(convert_to(datname::text, 'UTF8'), 'hex') FROM pg_database "
    "WHERE datallowconn AND NOT datistemplate ORDER BY datname";

Result<std::vector<std::string>> list_databases(Executor& ex, const Conn& c, const ContainerFacts& facts,
                                                job::Context& ctx) {
  auto out = TRY(run_checked(ex, c.psql(kMaintenanceDb, kListDatabases), "list databases in " + facts.name, ctx));
  std::vector<std::string> dbs;
  for (const auto& line : split_lines(out)) {
    auto name = hex_decode(line);
    if (!name) return internal_error("list databases in " + facts.name + ": unexpected line from psql: " + line);
    dbs.push_back(std::move(*name));
  }
  return dbs;
}

}  // namespace

std::string pg_dbname_conninfo(const std::string& db) {
  std::string out = "dbname='";
  for (char ch : db) {
    if (ch == '\\' || ch == '\'') out += '\\';
    out += ch;
  }
  return out + "'";
}

bool is_expected_role_error(const std::string& line, const std::set<std::string>& roles_before) {
  if (line.find("ERROR:") == std::string::npos) return false;
  const std::string head = "role \"", tail = "\" already exists";
  const size_t start = line.find(head), end = line.rfind(tail);
  if (start == std::string::npos || end == std::string::npos || end < start + head.size()) return false;
  return roles_before.count(line.substr(start + head.size(), end - start - head.size())) > 0;
}

bool looks_like_pg_snapshot(const std::string& s) {
  static const std::regex re("^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$");
  return std::regex_match(s, re);
}

Result<std::vector<TableCount>> parse_pg_counts(const std::string& database, const std::vector<std::string>& lines) {
  std::vector<TableCount> out;
  for (const auto& l : lines) {
    size_t bar = l.rfind('|');
    if (bar == std::string::npos) return internal_error("unexpected row count line from psql: " + l);
    auto table = hex_decode(l.substr(0, bar));
    if (!table) return internal_error("unexpected row count line from psql: " + l);
    TableCount t{database, std::move(*table), 0};
    try {
      t.rows = std::stoll(l.substr(bar + 1));
    } catch (...) {
      return internal_error("unexpected row count line from psql: " + l);
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<DumpInfo> PostgresEngine::dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpThenSocket));
  DumpInfo info{.engine = "postgres"};
  auto ver = TRY(run_checked(ex, c.psql(kMaintenanceDb, "SHOW server_version"), "postgres version in " + facts.name, ctx));
  info.version = split_lines(ver).empty() ? "" : split_lines(ver)[0];
  auto tool = TRY(run_checked(ex, {.cmd = {"pg_dump", "--version"}, .env = c.env()}, "pg_dump --version", ctx));
  info.tool = split_lines(tool).empty() ? "pg_dump" : split_lines(tool)[0];
  info.databases = TRY(list_databases(ex, c, facts, ctx));

  // Roles and tablespaces.
  {
    std::string step = "dump:" + facts.name + ":globals";
    job::StepTimer t(ctx, step, "Dump postgres roles in " + facts.name);
    auto n = stream_dump(ex, {.cmd = {"pg_dumpall", "--globals-only"}, .env = c.env()}, sink, "globals.sql",
                           "pg_dumpall --globals-only in " + facts.name, ctx, step);
    t.end_with(n);
    if (!n.ok()) return std::move(n).error();
    info.files.push_back({"globals.sql", "pg_globals", "", *n});
  }

  for (const auto& db : info.databases) {
    std::string step = "dump:" + facts.name + ":" + db;
    job::StepTimer t(ctx, step, "Dump postgres database " + db + " in " + facts.name);
    // A session holds a repeatable-read snapshot: pg_dump --snapshot uses it, and the
    // row counts are taken inside it, so they describe exactly what was dumped.
    Session session(ex,
                    {.cmd = {"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", pg_dbname_conninfo(db)},
                     .env = c.env()},
                    ctx.stop());
    TRY(session.send("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n"));
    auto snap = session.wait_line(looks_like_pg_snapshot, std::chrono::seconds(60));
    if (!snap.ok()) return t.end_with(snap).error().with_context("export snapshot of " + db + " in " + facts.name);
    TRY(session.send(std::string(kPgCountQuery) + "\nSELECT 'stacksnap-counts-end';\n"));

    std::string file = dump_file_name(db, ".pgdump");
    // -Z0: custom format without pg_dump's zlib. The archive (zstd) and the repository
    // (per chunk) compress it as well, and an uncompressed dump deduplicates: measured on a
    // 400 000-row table with 1 % of its rows changed at its end, the second snapshot
    // uploaded 0.62 MB with -Z0 against 2.64 MB with zlib (5 % and 22 % of the first).
    auto n = stream_dump(ex, {.cmd = {"pg_dump", "-Fc", "-Z0", "--snapshot=" + *snap, "-d", pg_dbname_conninfo(db)}, .env = c.env()},
                         sink, file, "pg_dump of " + db + " in " + facts.name, ctx, step);
    if (!n.ok()) return t.end_with(n).error();

    std::vector<std::string> count_lines;
    auto end = session.wait_line(
        [&](const std::string& l) {
          if (l == "stacksnap-counts-end") return true;
          count_lines.push_back(l);
          return false;
        },
        kSessionTimeout);
    if (!end.ok()) return t.end_with(end).error().with_context("count rows of " + db + " in " + facts.name);
    auto counts = parse_pg_counts(db, count_lines);
    if (!counts.ok()) return t.end_with(counts).error();
    info.counts.insert(info.counts.end(), counts->begin(), counts->end());
    TRY(session.send("COMMIT;\n"));
    auto code = session.finish();
    if (!code.ok() || *code != 0) {
      Error e = internal_error("snapshot session for " + db + " in " + facts.name + " failed: " +
                               stderr_tail(session.stderr_text()));
      t.end(false, e.message());
      return e;
    }
    t.end(true, std::to_string(*n) + " bytes");
    info.files.push_back({file, "pg_custom", db, *n});
  }
  return info;
}

Status PostgresEngine::wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                                  job::Context& ctx) {
  double deadline = monotonic_seconds() + static_cast<double>(timeout.count());
  std::string last;
  while (monotonic_seconds() < deadline) {
    TRY(ctx.check_cancel("waiting for postgres"));
    TRY(check_still_running(ex, facts, "postgres", last));
    // TCP only: during first-start initialisation the official entrypoint runs a
    // temporary server on the socket alone and stops it again.
    auto c = connect(ex, facts, ctx, Transport::kTcpOnly);
    if (c.ok()) return {};
    last = c.error().message();
    if (c.error().code() == Code::kUnauthenticated || c.error().code() == Code::kFailedPrecondition) {
      return std::move(c).error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return deadline_exceeded("postgres in " + facts.name + " was not ready within " + std::to_string(timeout.count()) +
                           " s: " + last);
}

// Filled in by the restore helpers below.
Status PostgresEngine::restore(Executor& ex, ContainerControl&, const ContainerFacts& facts, const DumpInfo& info, DumpSource& src,
                               job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpOnly));
  for (const auto& f : info.files) {
    if (f.kind == "pg_globals") {
      std::string step = "replay:" + facts.name + ":globals";
      job::StepTimer t(ctx, step, "Restore postgres roles in " + facts.name);
      auto in = TRY(src.open(f.name));
      // Roles the fresh container has before the replay (its POSTGRES_USER, and roles its
      // init scripts created) make their CREATE ROLE fail with "already exists": expected,
      // the ALTER ROLE that follows in the dump gives them the backed-up attributes and
      // password. Any other error fails the step: a role missing after a restore breaks
      // the app's logins.
      auto before = TRY(run_checked(
          ex, c.psql(kMaintenanceDb, "SELECT encode(convert_to(rolname::text, 'UTF8'), 'hex') FROM pg_roles"),
          "list roles in " + facts.name, ctx));
      std::set<std::string> roles_before;
      for (const auto& line : split_lines(before)) {
        if (auto r = hex_decode(line)) roles_before.insert(*r);
      }
      auto cap = TRY(run_capture(
          ex, {.cmd = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", kMaintenanceDb}, .env = c.env()},
          ctx.stop(), in.get()));
      std::vector<std::string> unexpected;
      for (const auto& line : split_lines(cap.err)) {
        if (line.find("ERROR:") == std::string::npos || is_expected_role_error(line, roles_before)) continue;
        unexpected.push_back(ctx.redact(line));
      }
      if (cap.exit_code != 0 || !unexpected.empty()) {
        std::string why = unexpected.empty() ? "psql exited " + std::to_string(cap.exit_code) + ": " +
                                                   ctx.redact(stderr_tail(cap.err))
                                             : std::to_string(unexpected.size()) + " statement(s) failed: " +
                                                   unexpected.front();
        Error e = internal_error("restore roles in " + facts.name + ": " + why);
        t.end(false, e.message());
        return e;
      }
      t.end(true);
    }
  }
  for (const auto& f : info.files) {
    if (f.kind != "pg_custom") continue;
    std::string step = "replay:" + facts.name + ":" + f.database;
    job::StepTimer t(ctx, step, "Restore postgres database " + f.database + " in " + facts.name);
    auto in = TRY(src.open(f.name));
    ExecRequest req{.env = c.env()};
    if (f.database == kMaintenanceDb) {
      req.cmd = {"pg_restore", "--clean", "--if-exists", "--exit-on-error", "--single-transaction", "-d", kMaintenanceDb};
    } else {
      // --create recreates the database with its original properties; it cannot run in
      // one transaction, so a failure leaves the database to be dropped by the caller.
      req.cmd = {"pg_restore", "--create", "--clean", "--if-exists", "--exit-on-error", "-d", kMaintenanceDb};
    }
    auto cap = run_capture(ex, req, ctx.stop(), in.get());
    if (!cap.ok()) return t.end_with(cap).error();
    if (cap->exit_code != 0) {
      Error e = internal_error("pg_restore of " + f.database + " in " + facts.name + " exited " +
                               std::to_string(cap->exit_code) + ": " + ctx.redact(stderr_tail(cap->err)));
      t.end(false, e.message());
      return e;
    }
    t.end(true);
  }
  return {};
}

Result<std::vector<TableCount>> PostgresEngine::count_rows(Executor& ex, const ContainerFacts& facts,
                                                           job::Context& ctx) {
  Conn c = TRY(connect(ex, facts, ctx, Transport::kTcpThenSocket));
  std::vector<TableCount> out;
  for (const auto& db : TRY(list_databases(ex, c, facts, ctx))) {
    auto txt = TRY(run_checked(ex, c.psql(db, kPgCountQuery), "count rows of " + db + " in " + facts.name, ctx));
    auto counts = TRY(parse_pg_counts(db, split_lines(txt)));
    out.insert(out.end(), counts.begin(), counts.end());
  }
  return out;
}

}  // namespace stacksnap::dbengine
