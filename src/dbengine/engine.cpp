#include "dbengine/engine.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "base/hex.h"

#include "dbengine/mysql.h"
#include "dbengine/postgres.h"
#include "dbengine/redis.h"

namespace stacksnap::dbengine {

namespace {
// Captures into a string with a hard limit: command output we parse is small.
class LimitedString final : public Writer {
 public:
  explicit LimitedString(size_t limit) : limit_(limit) {}
  Status write(Bytes data) override {
    if (s_.size() + data.size() > limit_) {
      size_t room = limit_ - std::min(limit_, s_.size());
      s_.append(as_chars(data.first(std::min(room, data.size()))));
      truncated_ = true;
      return {};
    }
    s_.append(as_chars(data));
    return {};
  }
  std::string take() { return std::move(s_); }
  bool truncated() const { return truncated_; }

 private:
  std::string s_;
  size_t limit_;
  bool truncated_ = false;
};
constexpr size_t kCaptureLimit = 16 << 20;
constexpr size_t kStderrLimit = 1 << 20;
}  // namespace

std::string stderr_tail(const std::string& err) {
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.size() > 2048) s = "…" + s.substr(s.size() - 2048);
  size_t start = s.find_first_not_of(" \n\r\t");
  return start == std::string::npos ? std::string() : s.substr(start);
}

Result<Captured> run_capture(Executor& ex, const ExecRequest& req, const StopToken& stop, Reader* in) {
  LimitedString out(kCaptureLimit), err(kStderrLimit);
  int code = TRY(ex.run(req, in, out, err, stop));
  return Captured{code, out.take(), err.take()};
}

Result<std::string> run_checked(Executor& ex, const ExecRequest& req, const std::string& what, job::Context& ctx,
                                Reader* in) {
  auto c = TRY_CTX(run_capture(ex, req, ctx.stop(), in), what);
  if (c.exit_code != 0) {
    std::string tail = stderr_tail(c.err.empty() ? c.out : c.err);
    return Error(c.exit_code == 126 || c.exit_code == 127 ? Code::kFailedPrecondition : Code::kInternal,
                 what + ": " + (req.cmd.empty() ? std::string("command") : req.cmd[0]) + " exited " +
                     std::to_string(c.exit_code) + (tail.empty() ? "" : ": " + ctx.redact(tail)));
  }
  return std::move(c.out);
}

Result<std::optional<std::string>> env_or_file(Executor& ex, const ContainerFacts& facts,
                                               const std::vector<std::string>& names, job::Context& ctx) {
  for (const auto& n : names) {
    auto f = facts.env.find(n + "_FILE");
    if (f != facts.env.end() && !f->second.empty()) {
      std::string v = TRY(run_checked(ex, {.cmd = {"cat", f->second}}, "read " + n + "_FILE in " + facts.name, ctx));
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      if (n.find("PASSWORD") != std::string::npos) ctx.add_secret(v);  // user and database names are not secret
      return std::optional<std::string>(v);
    }
    auto it = facts.env.find(n);
    if (it != facts.env.end()) {
      if (n.find("PASSWORD") != std::string::npos) ctx.add_secret(it->second);
      return std::optional<std::string>(it->second);
    }
  }
  return std::optional<std::string>();
}

CountCheck check_counts(const std::vector<TableCount>& expected, const std::vector<TableCount>& actual,
                        bool complete) {
  std::map<std::pair<std::string, std::string>, const TableCount*> want;
  std::map<std::pair<std::string, std::string>, int64_t> got;
  for (const auto& t : expected) want[{t.database, t.table}] = &t;
  for (const auto& t : actual) got[{t.database, t.table}] = t.rows;
  CountCheck out;
  for (const auto& [k, t] : want) {
    const std::string name = k.first + "." + k.second;
    auto it = got.find(k);
    const int64_t now = it == got.end() ? 0 : it->second;
    if (it != got.end() && now == t->rows) continue;
    const std::string what = it == got.end() ? name + ": missing" : name + ": " + std::to_string(now) + " rows";
    if (t->estimate) {
      out.notes.push_back(what + ", about " + std::to_string(t->rows) + " at the backup (an estimate)");
    } else if (t->may_expire > 0 && now <= t->rows && now >= t->rows - t->may_expire) {
      out.notes.push_back(what + ", " + std::to_string(t->rows) + " at the backup; within the " +
                          std::to_string(t->may_expire) + " with a TTL that may have expired");
    } else {
      out.failures.push_back(what + ", expected " + std::to_string(t->rows) +
                             (t->may_expire > 0 ? " (at least " + std::to_string(t->rows - t->may_expire) + ")" : ""));
    }
  }
  for (const auto& [k, rows] : got) {
    if (want.count(k)) continue;
    std::string line = k.first + "." + k.second + ": unexpected table with " + std::to_string(rows) + " rows";
    (complete ? out.failures : out.notes).push_back(std::move(line));
  }
  return out;
}

Json DumpInfo::to_json() const {
  Json j = {{"engine", engine}, {"version", version}, {"tool", tool}, {"databases", databases},
            {"counts_exact", counts_exact}};
  j["row_counts"] = Json::array();
  for (const auto& c : counts) {
    Json row = {{"database", c.database}, {"table", c.table}, {"rows", c.rows}};
    if (c.may_expire > 0) row["may_expire"] = c.may_expire;
    if (c.estimate) row["estimate"] = true;
    j["row_counts"].push_back(std::move(row));
  }
  j["files"] = Json::array();
  for (const auto& f : files) {
    j["files"].push_back({{"name", f.name}, {"kind", f.kind}, {"database", f.database}, {"bytes", f.bytes}});
  }
  return j;
}

Result<DumpInfo> DumpInfo::from_json(const Json& j) {
  if (!j.is_object()) return data_loss("dump record is not an object");
  DumpInfo d;
  d.engine = j.value("engine", "");
  d.version = j.value("version", "");
  d.tool = j.value("tool", "");
  d.counts_exact = j.value("counts_exact", true);
  if (j.contains("databases") && j["databases"].is_array()) {
    for (const auto& x : j["databases"]) {
      if (x.is_string()) d.databases.push_back(x.get<std::string>());
    }
  }
  if (j.contains("row_counts") && j["row_counts"].is_array()) {
    for (const auto& x : j["row_counts"]) {
      if (!x.is_object()) continue;
      TableCount t{x.value("database", ""), x.value("table", ""), x.value("rows", int64_t{0})};
      t.may_expire = x.value("may_expire", int64_t{0});
      // Records written before counts carried their own tolerance: an inexact list was an
      // estimate as a whole.
      t.estimate = x.value("estimate", !d.counts_exact && !x.contains("may_expire"));
      d.counts.push_back(std::move(t));
    }
  }
  if (j.contains("files") && j["files"].is_array()) {
    for (const auto& x : j["files"]) {
      if (!x.is_object()) continue;
      d.files.push_back({x.value("name", ""), x.value("kind", ""), x.value("database", ""), x.value("bytes", uint64_t{0})});
    }
  }
  if (d.engine.empty()) return data_loss("dump record has no engine");
  return d;
}

std::string dump_file_name(const std::string& name, const std::string& ext) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + ext;
}

std::optional<std::string> dump_name_from_file(const std::string& file, const std::string& ext) {
  if (file.size() < ext.size() || file.compare(file.size() - ext.size(), ext.size(), ext) != 0) return std::nullopt;
  std::string out;
  const size_t end = file.size() - ext.size();
  for (size_t i = 0; i < end; ++i) {
    if (file[i] != '%') {
      out += file[i];
      continue;
    }
    if (i + 2 >= end || hex_digit_value(file[i + 1]) < 0 || hex_digit_value(file[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(hex_digit_value(file[i + 1]) * 16 + hex_digit_value(file[i + 2]));
    i += 2;
  }
  return out;
}

Status check_still_running(Executor& ex, const ContainerFacts& facts, const std::string& engine,
                           const std::string& last_error) {
  if (ex.container_running()) return {};
  return unavailable(engine + " in " + facts.name + " stopped while StackSnap waited for it (docker logs " + facts.name +
                     " tells why)" + (last_error.empty() ? "" : ": " + last_error));
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

namespace {

// Counts bytes on the way to the archive; the dump must not be empty.
class CountingWriter final : public Writer {
 public:
  CountingWriter(Writer& inner, job::Progress& p, Writer* observer) : inner_(inner), p_(p), observer_(observer) {}
  Status write(Bytes data) override {
    n_ += data.size();
    p_.add(data.size());
    if (observer_) TRY(observer_->write(data));
    return inner_.write(data);
  }
  uint64_t bytes() const { return n_; }

 private:
  Writer& inner_;
  job::Progress& p_;
  Writer* observer_;
  uint64_t n_ = 0;
};

class StringCollector final : public Writer {
 public:
  Status write(Bytes data) override {
    if (s.size() < (1 << 20)) s.append(as_chars(data));
    return {};
  }
  std::string s;
};

}  // namespace

Result<uint64_t> stream_dump(Executor& ex, const ExecRequest& req, DumpSink& sink, const std::string& file,
                             const std::string& what, job::Context& ctx, const std::string& step, Writer* observer) {
  auto w = TRY(sink.open(file));
  job::Progress progress(ctx, step, std::nullopt);
  CountingWriter counted(*w, progress, observer);
  StringCollector err;
  int code = TRY_CTX(ex.run(req, nullptr, counted, err, ctx.stop()), what);
  progress.finish();
  if (!err.s.empty()) ctx.log(code == 0 ? job::Level::kInfo : job::Level::kError, what + ": " + stderr_tail(err.s), step);
  if (code != 0) {
    return Error(code == 126 || code == 127 ? Code::kFailedPrecondition : Code::kInternal,
                 what + ": " + req.cmd[0] + " exited " + std::to_string(code) + ": " + ctx.redact(stderr_tail(err.s)));
  }
  if (counted.bytes() == 0) return internal_error(what + ": " + req.cmd[0] + " produced no output");
  TRY_CTX(w->close(), what);
  return counted.bytes();
}

Result<std::unique_ptr<Engine>> make_engine(const std::string& name) {
  if (name == "postgres") return std::unique_ptr<Engine>(new PostgresEngine);
  if (name == "mysql") return std::unique_ptr<Engine>(new MysqlEngine);
  if (name == "redis") return std::unique_ptr<Engine>(new RedisEngine);
  return not_found("no database engine named '" + name + "' (known: postgres, mysql, redis)");
}

}  // namespace stacksnap::dbengine
