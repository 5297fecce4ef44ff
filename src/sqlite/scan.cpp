#include "sqlite/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sqlite/detect.h"
#include "sqlite/host_file.h"

namespace stacksnap::sqlite {

namespace {

// Header bytes read: the magic and the "file format write version" at offset 18.
constexpr size_t kPeekBytes = 20;

struct Walk {
  const ScanLimits& limits;
  dev_t device = 0;
  ScanResult out;

  void file(HostFile f, const std::string& rel, const std::set<std::string>& siblings, const std::string& name) {
    if (!S_ISREG(f.mode) || f.size < kMinDatabaseBytes) return;
    auto head = read_head(f, kPeekBytes);
    if (!head.ok()) return;
    FoundDatabase d{.path = rel, .bytes = f.size};
    if (head->has_value()) {
      const std::string& h = **head;
      if (!has_header(as_bytes(h))) return;
      if (h.size() > 18) d.journal_mode = h[18] == 2 ? "wal" : "rollback";
    }
    d.has_wal = siblings.count(name + "-wal") > 0;
    d.has_journal = siblings.count(name + "-journal") > 0;
    out.databases.push_back(std::move(d));
  }

  void dir(int fd, const std::string& rel, const std::string& shown, int depth) {
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return;
    DIR* d = ::fdopendir(dup);
    if (d == nullptr) {
      ::close(dup);
      return;
    }
    std::set<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (out.entries >= limits.max_entries) {
        out.truncated = true;
        break;
      }
      ++out.entries;
      names.insert(std::move(n));
    }
    ::closedir(d);
    for (const auto& n : names) {
      const std::string child_rel = rel.empty() ? n : rel + "/" + n;
      auto f = open_entry(fd, n, shown + "/" + n);
      if (!f.ok()) continue;
      if (S_ISDIR(f->mode)) {
        if (f->id.dev != device) continue;
        if (depth >= limits.max_depth) {
          out.truncated = true;
          continue;
        }
        int sub = ::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        UniqueFd owned(sub);
        dir(sub, child_rel, shown + "/" + n, depth + 1);
      } else {
        file(std::move(*f), child_rel, names, n);
      }
    }
  }
};

}  // namespace

Result<ScanResult> scan_tree(const std::string& root, const ScanLimits& limits) {
  HostFile top = TRY(resolve_beneath(root, ""));
  Walk w{.limits = limits, .device = top.id.dev, .out = {}};
  if (S_ISREG(top.mode)) {
    w.file(std::move(top), "", {}, "");
    return std::move(w.out);
  }
  if (!S_ISDIR(top.mode)) return w.out;
  auto fd = TRY(open_file(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  w.dir(fd.get(), "", root, 0);
  std::sort(w.out.databases.begin(), w.out.databases.end(),
            [](const FoundDatabase& a, const FoundDatabase& b) { return a.path < b.path; });
  return std::move(w.out);
}

}  // namespace stacksnap::sqlite
