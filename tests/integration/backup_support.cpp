#include "backup_support.h"

#include <chrono>
#include <fstream>
#include <sstream>

namespace stacksnap::it {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::unique_ptr<BackupBed>> BackupBed::create(const std::string& parent) {
  auto data = TRY(TempDir::create(parent, "stacksnap-it-data-"));
  auto store = TRY(TempDir::create("/var/tmp", "stacksnap-it-store-"));
  std::unique_ptr<BackupBed> bed(new BackupBed(std::move(data), std::move(store)));
  auto r = bed->run("key init");
  if (r.exit_code != 0) return internal_error("key init failed: " + r.out);
  r = bed->run("target add local local --path " + bed->store_dir() + "/backups-root");
  if (r.exit_code != 0) return internal_error("target add failed: " + r.out);
  return bed;
}

CliRun run_stacksnap(const std::string& data_dir, const std::string& args) {
  std::string errfile = data_dir + "/.stderr";
  auto t0 = std::chrono::steady_clock::now();
  // The group keeps our stderr redirection ahead of run_script's own 2>&1.
  auto sr = run_script("{ " + std::string(STACKSNAP_BINARY) + " --data-dir " + data_dir + " " + args + " 2>" +
                       errfile + "; }");
  CliRun r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = sr.exit_code;
  r.out = sr.output;
  r.err = read_text(errfile);
  std::istringstream lines(sr.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    r.events.push_back(j);
    if (j.value("type", "") == "summary") r.summary = j;
  }
  return r;
}

CliRun BackupBed::run(const std::string& args, std::string* err) const {
  CliRun r = run_stacksnap(data_.path(), args);
  if (err) *err = r.err;
  else r.out += r.err;
  return r;
}

CliRun BackupBed::backup(const std::string& project, const std::string& extra) const {
  std::string err;
  auto r = run("backup " + project + " --json " + extra, &err);
  r.out += err;
  return r;
}

std::string BackupBed::blob_path(const std::string& backup_id) const {
  return store_dir() + "/backups-root/backups/" + backup_id + ".stsnap";
}

Result<std::string> BackupBed::extract(const std::string& backup_id) const {
  std::string out = data_.path() + "/extract-" + std::to_string(++extracts_);
  auto r = run("extract " + blob_path(backup_id) + " --out " + out);
  if (r.exit_code != 0) return internal_error("extract failed: " + r.out);
  return out;
}

std::string describe(const CliRun& r) {
  std::string s = "exit " + std::to_string(r.exit_code) + "\nstderr: " + r.err + "\nsummary: " + r.summary.dump();
  for (const auto& e : r.events) {
    const std::string t = e.value("type", "");
    if (t == "error" || t == "drill_result" || t == "restore_applied" || t == "restore_cleanup" ||
        (t == "log" && e.value("level", "") != "debug")) {
      s += "\n  " + e.dump();
    }
  }
  return s;
}

}  // namespace stacksnap::it
