#include "archive/extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "archive/disk_writer.h"
#include "archive/reader.h"
#include "base/fd.h"

namespace stacksnap::archive {

namespace {

Result<std::string> prepare_out_dir(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("stat " + dir, errno);
    if (::mkdir(dir.c_str(), 0700) != 0) return errno_error("create " + dir, errno);
  } else {
    if (!S_ISDIR(st.st_mode)) return failed_precondition(dir + " exists and is not a directory");
    std::error_code ec;
    if (!std::filesystem::is_empty(dir, ec) || ec) {
      return failed_precondition("output directory " + dir + " is not empty (extract refuses to merge)");
    }
  }
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) return errno_error("resolve " + dir, errno);
  return std::string(real);
}

Status write_small(const std::string& path, std::string_view text) {
  auto fd = TRY(open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  TRY(write_all(fd.get(), as_bytes(text), path));
  return fd.close();
}

// Every entry of `src` below `root`, checked (ExtractGuard) before it is written.
Result<ExtractSummary> write_entries(EntrySource& src, const std::string& root, const ExtractOptions& o) {
  ExtractGuard guard;
  DiskWriter disk({.owner = o.restore_owner, .xattrs = o.restore_xattrs, .secure_symlinks = true, .verb = "extract"});
  ExtractSummary sum;
  auto take_warnings = [&] {
    for (auto& w : disk.warnings()) {
      if (sum.warnings.size() < 20) sum.warnings.push_back(std::move(w));
    }
    disk.warnings().clear();
  };
  for (;;) {
    TRY(check_cancel(o.stop, "extract"));
    const Entry* e = TRY(src.next());
    if (e == nullptr) break;
    TRY(guard.check(e->meta));
    EntryMeta m = e->meta;
    m.path = root + "/" + m.path;
    if (m.type == EntryType::kHardlink) m.link = root + "/" + m.link;
    auto st = disk.write(m, &src, e->is_stream, sum.bytes);
    take_warnings();
    TRY(std::move(st));
    if (m.type == EntryType::kFile) ++sum.files;
    ++sum.entries;
  }
  auto closed = disk.close();
  take_warnings();
  TRY(std::move(closed));
  return sum;
}

Result<ExtractSummary> extract_pass(Reader& in, const seal::KeySource& keys, const std::string& root,
                                    const ExtractOptions& o) {
  // stacksnap/ holds the plan now and the manifest as it streams by.
  const std::string meta_dir = root + "/stacksnap";
  if (::mkdir(meta_dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create " + meta_dir, errno);
  auto mfd = TRY(open_file(meta_dir + "/manifest.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  FdWriter manifest_out(mfd.get(), meta_dir + "/manifest.json");
  auto reader = TRY(ArchiveReader::open(in, keys, {.manifest_copy = &manifest_out}));
  TRY(write_small(meta_dir + "/plan.json", reader->plan_text()));
  auto sum = TRY(write_entries(*reader, root, o));
  TRY(mfd.close());
  return sum;
}

}  // namespace

Status ExtractGuard::check_path(const std::string& path, const std::string& what) const {
  auto norm = normalize_archive_path(path);
  if (path.empty() || path[0] == '/' || !norm.ok() || *norm != path) {
    return invalid_argument("refusing to extract " + what + " \"" + path +
                            "\": not a plain relative path (absolute, \"..\" or unnormalised)");
  }
  if (path == "stacksnap" || path.rfind("stacksnap/", 0) == 0) {
    return invalid_argument("refusing to extract " + what + " \"" + path + "\": reserved for StackSnap's records");
  }
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    if (symlinks_.count(path.substr(0, i))) {
      return invalid_argument("refusing to extract " + what + " \"" + path + "\": it lies beneath the symlink \"" +
                              path.substr(0, i) + "\" from the same archive");
    }
  }
  return {};
}

Status ExtractGuard::check(const EntryMeta& m) {
  TRY(check_path(m.path, "entry"));
  if (m.type == EntryType::kCharDevice || m.type == EntryType::kBlockDevice) {
    return invalid_argument("refusing to extract device node \"" + m.path + "\"");
  }
  if (m.type == EntryType::kHardlink) {
    TRY(check_path(m.link, "the target of hardlink " + m.path + ":"));
    if (symlinks_.count(m.link)) {
      return invalid_argument("refusing to extract hardlink \"" + m.path + "\" to the symlink \"" + m.link + "\"");
    }
  }
  if (m.type == EntryType::kSymlink) symlinks_.insert(m.path);
  return {};
}

Result<ExtractSummary> extract_archive_file(const std::string& archive_path, const seal::KeySource& keys,
                                            const std::string& out_dir, const ExtractOptions& options) {
  if (options.mode == ExtractMode::kVerifyFirst) {
    // Pass 1: authenticate everything and run the safety checks; nothing is written.
    auto fd = TRY(open_file(archive_path, O_RDONLY));
    FdReader in(fd.get(), archive_path);
    auto reader = TRY(ArchiveReader::open(in, keys));
    ExtractGuard guard;
    for (;;) {
      TRY(check_cancel(options.stop, "extract"));
      const Entry* e = TRY(reader->next());
      if (e == nullptr) break;
      TRY(guard.check(e->meta));
    }
  }
  std::string root = TRY(prepare_out_dir(out_dir));
  auto fd = TRY(open_file(archive_path, O_RDONLY));
  FdReader in(fd.get(), archive_path);
  return extract_pass(in, keys, root, options);
}

Result<ExtractSummary> extract_archive_stream(Reader& in, const seal::KeySource& keys, const std::string& out_dir,
                                              const ExtractOptions& options) {
  std::string root = TRY(prepare_out_dir(out_dir));
  return extract_pass(in, keys, root, options);
}

Result<ExtractSummary> extract_source(EntrySource& src, const std::string& out_dir, const ExtractOptions& options) {
  std::string root = TRY(prepare_out_dir(out_dir));
  const std::string meta_dir = root + "/stacksnap";
  if (::mkdir(meta_dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create " + meta_dir, errno);
  TRY(write_small(meta_dir + "/plan.json", src.plan().dump(2) + "\n"));
  auto sum = TRY(write_entries(src, root, options));
  TRY(write_small(meta_dir + "/manifest.json", src.manifest().head_json().dump(2) + "\n"));
  return sum;
}

}  // namespace stacksnap::archive
