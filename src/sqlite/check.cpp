#include "sqlite/check.h"

#include <sys/stat.h>

#include "sqlite/connection.h"
#include "sqlite/host_file.h"

namespace stacksnap::sqlite {

std::string immutable_uri(const std::string& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "file:";
  for (unsigned char c : path) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '.' ||
        c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "?immutable=1";
}

Result<CheckOutcome> check_restored(const std::string& root, const std::string& relative,
                                    const DatabaseFacts& expected) {
  CheckOutcome out;
  HostFile file = TRY(resolve_beneath(root, relative));
  if (!S_ISREG(file.mode)) {
    out.problems.push_back("not a regular file after the restore");
    return out;
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    auto companion = resolve_beneath(root, relative + suffix);
    if (companion.ok()) out.problems.push_back(std::string("a stale ") + suffix + " file lies beside it");
  }
  if (file.size != expected.bytes) {
    out.problems.push_back(std::to_string(file.size) + " bytes restored, the manifest says " +
                           std::to_string(expected.bytes));
  }
  auto db = open(immutable_uri(file.path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW, nullptr,
                 "the restored database");
  if (!db.ok()) {
    out.problems.push_back(db.error().message());
    return out;
  }
  auto messages = column_text(db->get(), "PRAGMA integrity_check(" + std::to_string(kIntegrityMessages) + ")",
                              "integrity_check");
  if (!messages.ok()) {
    out.integrity = messages.error().message();
    out.problems.push_back(out.integrity);
    return out;
  }
  for (const auto& m : *messages) out.integrity += (out.integrity.empty() ? "" : "; ") + m;
  if (out.integrity != "ok") out.problems.push_back("integrity_check: " + out.integrity);

  auto names = table_names(db->get(), "list the tables");
  if (!names.ok()) {
    out.problems.push_back(names.error().message());
    return out;
  }
  for (const auto& t : *names) {
    auto n = scalar(db->get(), "SELECT count(*) FROM " + quote_identifier(t), "count table " + t);
    if (!n.ok()) {
      out.problems.push_back(n.error().message());
      continue;
    }
    out.tables[t] = *n;
  }
  if (!expected.counts_error.empty()) return out;  // nothing recorded to compare with
  for (const auto& [t, want] : expected.tables) {
    auto it = out.tables.find(t);
    if (it == out.tables.end()) {
      out.problems.push_back("table " + t + " is missing (the manifest counted " + std::to_string(want) + " rows)");
    } else if (it->second != want) {
      out.problems.push_back("table " + t + ": " + std::to_string(it->second) + " rows, the manifest says " +
                             std::to_string(want));
    }
  }
  for (const auto& [t, got] : out.tables) {
    if (!expected.tables.count(t)) out.problems.push_back("table " + t + " is not in the manifest");
  }
  return out;
}

}  // namespace stacksnap::sqlite
