#include "chunks/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fd.h"
#include "seal/crypto.h"

namespace stacksnap::chunks {

namespace {

using Json = nlohmann::json;

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

void put_text(Json& j, const char* key, const std::string& value) {
  if (valid_utf8(value)) {
    j[key] = value;
  } else {
    j[std::string(key) + "_hex"] = seal::hex_encode(as_bytes(value));
  }
}

Result<std::string> get_text(const Json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  const std::string hex_key = std::string(key) + "_hex";
  if (j.contains(hex_key) && j[hex_key].is_string()) return seal::hex_decode(j[hex_key].get<std::string>());
  return data_loss(std::string("tree entry without ") + key);
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Result<std::vector<std::string>> sorted_names(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_error("open directory " + dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// A file's content chunked into the writer; its SHA-256 on the side.
class HashingReader final : public Reader {
 public:
  explicit HashingReader(Reader& in) : in_(in) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t n = TRY(in_.read(buf));
    hash_.update(Bytes(buf.data(), n));
    return n;
  }
  std::string hex() { return seal::hex_encode(hash_.finish()); }

 private:
  Reader& in_;
  seal::Sha256 hash_;
};

}  // namespace

Result<ChunkId> store_tree(SnapshotWriter& writer, const std::string& dir, TreeStats* stats) {
  TreeStats local;
  TreeStats& s = stats ? *stats : local;
  Json entries = Json::array();
  for (const auto& name : TRY(sorted_names(dir))) {
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed while we walk: a live tree
      return errno_error("stat " + path, errno);
    }
    Json e = Json::object();
    put_text(e, "name", name);
    e["mode"] = st.st_mode & 07777;
    e["uid"] = st.st_uid;
    e["gid"] = st.st_gid;
    e["mtime_ns"] = mtime_ns(st);
    if (S_ISREG(st.st_mode)) {
      auto opened = open_file(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (!opened.ok() && opened.error().code() == Code::kNotFound) continue;  // removed meanwhile
      const UniqueFd fd = TRY(std::move(opened));
      FdReader file(fd.get(), path);
      HashingReader hashed(file);
      auto ids = TRY_CTX(writer.add_stream(hashed), path);
      Json list = Json::array();
      for (const auto& id : ids) list.push_back(to_hex(id));
      e["type"] = "file";
      e["chunks"] = std::move(list);
      e["sha256"] = hashed.hex();
      e["size"] = st.st_size;
      ++s.files;
      s.bytes += static_cast<uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      e["type"] = "dir";
      e["subtree"] = to_hex(TRY(store_tree(writer, path, &s)));
      ++s.dirs;
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("read link " + path, errno);
      target.resize(static_cast<size_t>(n));
      e["type"] = "symlink";
      put_text(e, "target", target);
      ++s.symlinks;
    } else {
      ++s.skipped;
      continue;
    }
    entries.push_back(std::move(e));
  }
  const std::string doc = Json{{"entries", std::move(entries)}}.dump();
  return writer.add(BlobType::kTree, as_bytes(doc));
}

Status restore_tree(const Repository& repo, const ChunkId& tree, const std::string& dest, TreeStats* stats) {
  TreeStats local;
  TreeStats& s = stats ? *stats : local;
  const std::string text = TRY(repo.read(BlobType::kTree, tree));
  const Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("entries") || !doc["entries"].is_array()) {
    return data_loss("tree " + to_hex(tree) + " is not a tree");
  }
  for (const auto& e : doc["entries"]) {
    const std::string name = TRY(get_text(e, "name"));
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
      return data_loss("tree " + to_hex(tree) + ": entry name \"" + name + "\" is not a plain name");
    }
    const std::string path = dest + "/" + name;
    const std::string type = e.value("type", "");
    const auto mode = static_cast<mode_t>(e.value("mode", 0644) & 07777);
    if (type == "dir") {
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + path, errno);
      TRY(restore_tree(repo, TRY(id_from_hex(e.value("subtree", ""))), path, &s));
      ++s.dirs;
    } else if (type == "file") {
      auto fd = TRY(open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      FdWriter out(fd.get(), path);
      seal::Sha256 hash;
      uint64_t size = 0;
      for (const auto& h : e.value("chunks", Json::array())) {
        const std::string chunk = TRY(repo.read(BlobType::kData, TRY(id_from_hex(h.get<std::string>()))));
        hash.update(as_bytes(chunk));
        size += chunk.size();
        TRY(out.write(as_bytes(chunk)));
      }
      if (seal::hex_encode(hash.finish()) != e.value("sha256", "") || size != e.value("size", uint64_t{0})) {
        return data_loss(path + ": restored content does not match the snapshot's SHA-256 and size");
      }
      ++s.files;
      s.bytes += size;
    } else if (type == "symlink") {
      const std::string target = TRY(get_text(e, "target"));
      if (::symlink(target.c_str(), path.c_str()) != 0) return errno_error("create symlink " + path, errno);
      ++s.symlinks;
      continue;  // a link's own mode and times are not restored
    } else {
      return data_loss("tree " + to_hex(tree) + ": unknown entry type \"" + type + "\"");
    }
    if (::geteuid() == 0) {
      (void)::lchown(path.c_str(), static_cast<uid_t>(e.value("uid", 0)), static_cast<gid_t>(e.value("gid", 0)));
    }
    if (::chmod(path.c_str(), mode) != 0) return errno_error("chmod " + path, errno);
    const int64_t ns = e.value("mtime_ns", int64_t{0});
    struct timespec times[2] = {{ns / 1000000000, ns % 1000000000}, {ns / 1000000000, ns % 1000000000}};
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("set times of " + path, errno);
  }
  return {};
}

}  // namespace stacksnap::chunks
