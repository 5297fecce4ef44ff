#include "repo/snapshot.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <deque>
#include <condition_variable>
#include <unordered_set>
#include <optional>

#include <thread>

#include "base/clock.h"
#include "base/pipe.h"
#include "base/text.h"
#include "chunks/lock.h"
#include "seal/crypto.h"

namespace stacksnap::repo {

namespace {

using Json = nlohmann::json;
using chunks::BlobType;
using chunks::ChunkId;

constexpr size_t kListCut = 4u << 20;       // an entry list is cut at this many bytes at the latest
constexpr uint8_t kListCutBelow = 4;        // …or after a line whose id starts below this (1 in 64)
constexpr size_t kMaxListBytes = 64u << 20; // what a reader accepts for one list
// A file's chunk ids go on its line up to this many (≈ 2.7 MiB of line); the rest follow on
// continuation lines {"continued": true, "chunks": […]}, so no line, and no list, outgrows
// what a blob may hold (a 1 TiB dump has about a million chunks).
constexpr size_t kChunksPerLine = 40000;


// Text that JSON can hold as is, else as hex under "<key>_hex".
void put_text(Json& j, const char* key, const std::string& value) {
  if (is_valid_utf8(value)) j[key] = value;
  else j[std::string(key) + "_hex"] = seal::hex_encode(as_bytes(value));
}

Result<std::string> get_text(const Json& j, const char* key) {
  if (auto it = j.find(key); it != j.end() && it->is_string()) return it->get<std::string>();
  const std::string hex_key = std::string(key) + "_hex";
  if (auto it = j.find(hex_key); it != j.end() && it->is_string()) return seal::hex_decode(it->get<std::string>());
  return std::string();
}

// Content read through the chunker, hashed on the way; a stop request ends it.
class HashingReader final : public Reader {
 public:
  HashingReader(Reader& in, const StopToken& stop) : in_(in), stop_(stop) {}
  Result<size_t> read(MutableBytes buf) override {
    TRY(check_cancel(stop_, "store the snapshot"));
    const size_t n = TRY(in_.read(buf));
    hash_.update(Bytes(buf.data(), n));
    if (head_.size() < archive::kFilterHeadBytes) {
      head_.append(reinterpret_cast<const char*>(buf.data()), std::min(n, archive::kFilterHeadBytes - head_.size()));
    }
    bytes_ += n;
    return n;
  }
  std::string hex() { return seal::hex_encode(hash_.finish()); }
  uint64_t bytes() const { return bytes_; }
  const std::string& head() const { return head_; }

 private:
  Reader& in_;
  const StopToken& stop_;
  seal::Sha256 hash_;
  uint64_t bytes_ = 0;
  std::string head_;
};

Json entry_line(const archive::EntryMeta& m, bool stream) {
  Json j = Json::object();
  put_text(j, "path", m.path);
  j["type"] = std::string(archive::entry_type_name(m.type));
  j["mode"] = m.mode;
  j["uid"] = m.uid;
  j["gid"] = m.gid;
  if (!m.uname.empty()) put_text(j, "uname", m.uname);
  if (!m.gname.empty()) put_text(j, "gname", m.gname);
  j["mtime"] = m.mtime_sec;
  j["mtime_ns"] = m.mtime_nsec;
  j["size"] = m.size;
  if (!m.link.empty()) put_text(j, "link", m.link);
  if (m.type == archive::EntryType::kCharDevice || m.type == archive::EntryType::kBlockDevice) {
    j["dev"] = {m.dev_major, m.dev_minor};
  }
  if (!m.xattrs.empty()) {
    Json x = Json::array();
    for (const auto& a : m.xattrs) x.push_back({seal::hex_encode(as_bytes(a.name)), seal::hex_encode(as_bytes(a.value))});
    j["xattrs"] = std::move(x);
  }
  if (!m.sparse.empty()) {
    Json s = Json::array();
    for (const auto& r : m.sparse) s.push_back({r.offset, r.length});
    j["sparse"] = std::move(s);
  }
  if (stream) j["stream"] = true;
  return j;
}

Result<archive::EntryMeta> entry_meta(const Json& j) {
  try {
    archive::EntryMeta m;
    m.path = TRY(get_text(j, "path"));
    m.type = TRY(archive::parse_entry_type(j.at("type").get<std::string>()));
    m.mode = j.at("mode").get<uint32_t>();
    m.uid = j.at("uid").get<uint32_t>();
    m.gid = j.at("gid").get<uint32_t>();
    m.uname = TRY(get_text(j, "uname"));
    m.gname = TRY(get_text(j, "gname"));
    m.mtime_sec = j.at("mtime").get<int64_t>();
    m.mtime_nsec = j.at("mtime_ns").get<uint32_t>();
    m.size = j.at("size").get<uint64_t>();
    m.link = TRY(get_text(j, "link"));
    if (auto it = j.find("dev"); it != j.end()) {
      m.dev_major = it->at(0).get<uint32_t>();
      m.dev_minor = it->at(1).get<uint32_t>();
    }
    if (auto it = j.find("xattrs"); it != j.end()) {
      for (const auto& x : *it) {
        m.xattrs.push_back({TRY(seal::hex_decode(x.at(0).get<std::string>())),
                            TRY(seal::hex_decode(x.at(1).get<std::string>()))});
      }
    }
    if (auto it = j.find("sparse"); it != j.end()) {
      for (const auto& r : *it) m.sparse.push_back({r.at(0).get<uint64_t>(), r.at(1).get<uint64_t>()});
    }
    return m;
  } catch (const std::exception& e) {
    return data_loss(std::string("snapshot entry: ") + e.what());
  }
}

// JSON text of a document this code built (every string was checked or hex-encoded; a
// failure is a bug, reported, never a crash).
Result<std::string> dump_json(const Json& j, const std::string& what) {
  try {
    return j.dump();
  } catch (const std::exception& e) {
    return internal_error("snapshot entry " + what + ": " + e.what());
  }
}

Result<std::vector<ChunkId>> chunk_ids(const Json& j) {
  std::vector<ChunkId> ids;
  auto it = j.find("chunks");
  if (it == j.end()) return ids;
  if (!it->is_array()) return data_loss("snapshot entry: chunks is not a list");
  ids.reserve(it->size());
  for (const auto& h : *it) {
    if (!h.is_string()) return data_loss("snapshot entry: a chunk id is not text");
    ids.push_back(TRY(chunks::id_from_hex(h.get<std::string>())));
  }
  return ids;
}

}  // namespace
namespace snapshot_detail {  // named: SnapshotSink::Impl holds these

// Entry lines gathered into content-defined lists.
class ListWriter {
 public:
  explicit ListWriter(chunks::SnapshotWriter& w) : w_(w) {}
  Status add(const std::string& line, const ChunkId& line_id) {
    if (!buf_.empty() && buf_.size() + line.size() + 1 > kListCut) TRY(cut());  // no list outgrows the cut
    buf_ += line;
    buf_ += '\n';
    if (line_id[0] < kListCutBelow || buf_.size() >= kListCut) return cut();
    return {};
  }
  Status cut() {
    if (buf_.empty()) return {};
    const ChunkId id = TRY(w_.add(BlobType::kTree, as_bytes(buf_)));
    ids_.push_back(chunks::to_hex(id));
    buf_.clear();
    return {};
  }
  Json ids() const { return ids_; }
  size_t count() const { return ids_.size(); }  // lists stored so far: the number of the one being filled

 private:
  chunks::SnapshotWriter& w_;
  std::string buf_;
  Json ids_ = Json::array();
};

}  // namespace snapshot_detail
using namespace snapshot_detail;
namespace {


// Calls fn(line) for every entry line of the snapshot, in archive order.
Status for_each_line(const chunks::Repository& repo, const Json& doc, const std::function<Status(const Json&)>& fn) {
  auto it = doc.find("entries");
  if (it == doc.end() || !it->is_array()) return data_loss("snapshot without an entry list");
  for (const auto& h : *it) {
    if (!h.is_string()) return data_loss("snapshot: an entry list id is not text");
    const ChunkId id = TRY(chunks::id_from_hex(h.get<std::string>()));
    const std::string list = TRY_CTX(repo.read(BlobType::kTree, id), "entry list " + h.get<std::string>());
    if (list.size() > kMaxListBytes) return data_loss("entry list " + h.get<std::string>() + " is too long");
    size_t pos = 0;
    while (pos < list.size()) {
      const size_t end = list.find('\n', pos);
      if (end == std::string::npos) return data_loss("entry list " + h.get<std::string>() + " ends inside a line");
      auto line = Json::parse(std::string_view(list).substr(pos, end - pos), nullptr, false);
      if (line.is_discarded() || !line.is_object()) return data_loss("entry list " + h.get<std::string>() + ": a line is not JSON");
      TRY(fn(line));
      pos = end + 1;
    }
  }
  return {};
}

// A file's content from its chunks; its SHA-256 compared at the end.
class ChunksReader final : public Reader {
 public:
  ChunksReader(const chunks::Repository& repo, std::vector<ChunkId> ids, std::string sha256, std::string path,
               const StopToken& stop)
      : repo_(repo), ids_(std::move(ids)), sha256_(std::move(sha256)), path_(std::move(path)), stop_(stop) {}
  Result<size_t> read(MutableBytes buf) override {
    while (pos_ == chunk_.size()) {
      TRY(check_cancel(stop_, "read the snapshot"));
      if (next_ == ids_.size()) {
        if (!checked_) {
          checked_ = true;
          if (seal::hex_encode(hash_.finish()) != sha256_) {
            return data_loss(path_ + ": its content does not match the SHA-256 recorded when it was backed up");
          }
        }
        return size_t{0};
      }
      chunk_ = TRY_CTX(repo_.read(BlobType::kData, ids_[next_]), path_);
      ++next_;
      pos_ = 0;
      hash_.update(as_bytes(chunk_));
    }
    const size_t n = std::min(buf.size(), chunk_.size() - pos_);
    std::memcpy(buf.data(), chunk_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const chunks::Repository& repo_;
  std::vector<ChunkId> ids_;
  std::string sha256_, path_;
  const StopToken& stop_;
  size_t next_ = 0, pos_ = 0;
  std::string chunk_;
  seal::Sha256 hash_;
  bool checked_ = false;
};

// Paths in the order a tree is read (a directory, then its entries by name in bytes):
// compared component by component, i.e. with '/' below every other byte.
int path_order(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned x = a[i] == '/' ? 0u : static_cast<unsigned char>(a[i]);
    const unsigned y = b[i] == '/' ? 0u : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// "volumes/<name>" or "binds/<name>" for a path in that tree (the tree's root included), else "".
std::string tree_of(std::string_view path) {
  for (std::string_view root : {std::string_view("volumes/"), std::string_view("binds/")}) {
    if (path.substr(0, root.size()) != root) continue;
    const size_t slash = path.find('/', root.size());
    if (slash == root.size()) return {};
    return std::string(path.substr(0, slash));
  }
  return {};
}

}  // namespace
namespace snapshot_detail {  // named: SnapshotSink::Impl holds these

// A snapshot's entries one at a time (continuation lines merged), from entry list `first`.
class EntryCursor {
 public:
  EntryCursor(const chunks::Repository& repo, const Json& doc, size_t first) : repo_(repo), next_list_(first) {
    if (auto it = doc.find("entries"); it != doc.end() && it->is_array()) lists_ = *it;
  }
  // The next entry into `line` and `ids`; false at the end.
  Result<bool> next(Json& line, std::vector<ChunkId>& ids) {
    if (!lookahead_) {
      lookahead_.emplace();
      if (!TRY(next_line(*lookahead_))) return false;
    }
    line = std::move(*lookahead_);
    lookahead_.reset();
    if (line.value("continued", false)) return data_loss("snapshot: a continuation line without its entry");
    ids = TRY(chunk_ids(line));
    line.erase("chunks");
    for (;;) {
      Json more;
      if (!TRY(next_line(more))) break;
      if (!more.value("continued", false)) {
        lookahead_ = std::move(more);
        break;
      }
      for (const auto& id : TRY(chunk_ids(more))) ids.push_back(id);
    }
    return true;
  }

 private:
  Result<bool> next_line(Json& out) {
    while (pos_ >= list_.size()) {
      if (next_list_ >= lists_.size()) return false;
      const Json& h = lists_[next_list_++];
      if (!h.is_string()) return data_loss("snapshot: an entry list id is not text");
      const ChunkId id = TRY(chunks::id_from_hex(h.get<std::string>()));
      list_ = TRY_CTX(repo_.read(BlobType::kTree, id), "entry list " + h.get<std::string>());
      pos_ = 0;
    }
    const size_t end = list_.find('\n', pos_);
    if (end == std::string::npos) return data_loss("an entry list ends inside a line");
    out = Json::parse(std::string_view(list_).substr(pos_, end - pos_), nullptr, false);
    pos_ = end + 1;
    if (out.is_discarded() || !out.is_object()) return data_loss("an entry list holds a line that is not JSON");
    return true;
  }

  const chunks::Repository& repo_;
  Json lists_ = Json::array();
  size_t next_list_ = 0;
  std::string list_;
  size_t pos_ = 0;
  std::optional<Json> lookahead_;
};

}  // namespace snapshot_detail
using namespace snapshot_detail;
namespace {


}  // namespace
namespace snapshot_detail {  // named: SnapshotSink::Impl holds these

// One tree of the parent snapshot, walked forward as the same tree is read again.
class ParentTree {
 public:
  struct Entry {
    std::string path;
    Json line;
    std::vector<ChunkId> ids;
  };
  ParentTree(const chunks::Repository& repo, const Json& doc, std::string tree, std::optional<size_t> first)
      : tree_(std::move(tree)), done_(!first) {
    if (first) cursor_.emplace(repo, doc, *first);
  }
  const std::string& tree() const { return tree_; }
  // The parent's entry at `path`, or nullptr (the cursor stays before the next larger path).
  Result<const Entry*> find(const std::string& path) {
    while (!done_) {
      if (have_) {
        const int c = path_order(cur_.path, path);
        if (c == 0) return &cur_;
        if (c > 0) return nullptr;
      }
      if (!TRY(advance())) done_ = true;
    }
    return nullptr;
  }

 private:
  Result<bool> advance() {
    for (;;) {
      Json line;
      std::vector<ChunkId> ids;
      if (!TRY(cursor_->next(line, ids))) return false;
      std::string path = TRY(get_text(line, "path"));
      if (tree_of(path) != tree_) {
        if (seen_) return false;  // past the tree
        continue;                 // before it (the section starts inside a list)
      }
      seen_ = true;
      cur_ = Entry{std::move(path), std::move(line), std::move(ids)};
      have_ = true;
      return true;
    }
  }

  std::string tree_;
  std::optional<EntryCursor> cursor_;
  Entry cur_;
  bool have_ = false, seen_ = false, done_ = false;
};

}  // namespace snapshot_detail
using namespace snapshot_detail;
namespace {


// The parent line holds `m` as it is now (a regular file read directly last time).
bool same_file(const Json& line, const archive::EntryMeta& m, const archive::FileIdentity& id) {
  auto num = [&](const char* k) -> std::optional<int64_t> {
    auto it = line.find(k);
    if (it == line.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  return line.value("type", "") == "file" && !line.value("stream", false) && line.contains("head") &&
         line.contains("sha256") && num("size") == static_cast<int64_t>(m.size) && num("mtime") == m.mtime_sec &&
         num("mtime_ns") == static_cast<int64_t>(m.mtime_nsec) && num("ino") == static_cast<int64_t>(id.inode) &&
         num("ctime") == id.ctime_sec && num("ctime_ns") == static_cast<int64_t>(id.ctime_nsec);
}

class FixedClock final : public Clock {
 public:
  explicit FixedClock(SystemTime t) : t_(t) {}
  SystemTime now() const override { return t_; }

 private:
  SystemTime t_;
};

// "2026-11-25T20:17:30Z" → time point (nullopt when it is not that shape).
std::optional<SystemTime> parse_rfc3339(const std::string& s) {
  struct tm tm {};
  char z = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &z) != 7 || z != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

archive::DumpInfo dump_info_from(const Json& j) {
  archive::DumpInfo d;
  d.engine = j.value("engine", "");
  d.version = j.value("version", "");
  if (auto it = j.find("databases"); it != j.end() && it->is_object()) {
    for (const auto& [db, v] : it->items()) {
      auto& tables = d.row_counts[db];
      if (auto t = v.find("tables"); t != v.end() && t->is_object()) {
        for (const auto& [name, rows] : t->items()) {
          if (rows.is_number_integer()) tables[name] = rows.get<int64_t>();
        }
      }
    }
  }
  d.extra = j;
  for (const char* k : {"engine", "version", "databases"}) d.extra.erase(k);
  return d;
}

Json without_counts(Json j) {
  if (j.is_object()) {
    j.erase("files");
    j.erase("bytes");
  }
  return j;
}

}  // namespace

std::string snapshot_key(const std::string& snapshot_id) { return "snapshots/" + snapshot_id; }

std::string snapshot_id_of_key(const std::string& key) {
  constexpr std::string_view kPrefix = "snapshots/";
  return key.starts_with(kPrefix) ? key.substr(kPrefix.size()) : std::string();
}

Json IngestStats::to_json() const {
  return {{"entries", entries},       {"files", files},         {"content_bytes", content_bytes},
          {"chunks", chunks},         {"new_chunks", new_chunks}, {"new_bytes", new_bytes},
          {"uploaded_bytes", uploaded_bytes}, {"packs", packs},
          {"unchanged_files", unchanged_files}, {"unchanged_bytes", unchanged_bytes}};
}

Result<chunks::SnapshotInfo> ingest_archive(chunks::Repository& repo, archive::ArchiveReader& reader, Json doc,
                                            const StopToken& stop, IngestStats* stats,
                                            const std::function<Status()>& before_commit,
                                            const chunks::WriteOptions& write) {
  auto sink = TRY(SnapshotSink::create(repo, std::nullopt, stop, write));
  TRY(sink->add_plan(reader.plan()));
  for (;;) {
    TRY(check_cancel(stop, "store the snapshot"));
    const archive::Entry* e = TRY(reader.next());
    if (e == nullptr) break;
    if (e->meta.type != archive::EntryType::kFile) TRY(sink->add_entry(e->meta));
    else if (e->is_stream) TRY(sink->add_stream(e->meta, reader.content()));
    else TRY(sink->add_file(e->meta, reader.content()));
  }
  sink->use_manifest_head(reader.manifest().head_json());
  auto info = sink->commit(std::move(doc), reader.manifest().created, before_commit);
  if (stats) *stats = sink->stats();
  return info;
}

Result<chunks::SnapshotInfo> store_archive(storage::Target& target, const seal::MasterKey& key,
                                           archive::ArchiveReader& reader, Json doc, const StoreOptions& options,
                                           const StopToken& stop, IngestStats* stats) {
  auto session = TRY(open_for_backup(target, key, options, stop));
  return ingest_archive(*session.repository, reader, std::move(doc), stop, stats,
                        [&] { return session.still_locked(); }, {.spool_dir = options.spool_dir});
}

struct SnapshotSink::Impl {
  Impl(chunks::Repository& r, std::unique_ptr<chunks::SnapshotWriter> w, std::optional<chunks::SnapshotInfo> p,
       const StopToken& st)
      : repo(r), writer(std::move(w)), lists(*writer), parent(std::move(p)), stop(st) {}

  chunks::Repository& repo;
  std::unique_ptr<chunks::SnapshotWriter> writer;
  ListWriter lists;
  std::optional<chunks::SnapshotInfo> parent;
  StopToken stop;
  std::optional<ParentTree> parent_tree;
  std::optional<ParentTree::Entry> found;  // what unchanged_head() found, for add_unchanged()
  archive::PathSet paths;
  Json plan;
  bool have_plan = false;
  std::optional<Json> manifest_head;
  archive::ManifestFacts facts;
  std::vector<archive::StreamRecord> streams;
  Json sections = Json::object();
  std::string last_tree;
  // Files changed at or after this (unix seconds: a second before the sink was made) are
  // not given a files-cache identity.
  int64_t racy_cutoff = unix_seconds(std::chrono::system_clock::now()) - 1;
  IngestStats stats;
  std::optional<Error> failed;

  Status usable(bool plan_call) {
    if (failed) return failed_precondition("snapshot writer failed earlier: " + failed->message());
    if (plan_call && have_plan) return failed_precondition("the plan must be added once, first");
    if (!plan_call && !have_plan) return failed_precondition("add the plan before any entry");
    return {};
  }
  Status poison(Status st) {
    if (!st.ok() && !failed) failed = st.error();
    return st;
  }
  Status check_new(const archive::EntryMeta& m) {
    TRY(archive::check_user_path(m));
    if (!paths.insert(m.path)) return invalid_argument("path " + m.path + " was already written: two entries would share it");
    return {};
  }

  // The entry's line (and continuation lines for chunk ids beyond kChunksPerLine) into the lists.
  Status put(const archive::EntryMeta& m, Json line, const std::vector<ChunkId>& ids) {
    const bool file = m.type == archive::EntryType::kFile;
    if (std::string tree = tree_of(m.path); tree != last_tree) {
      if (!tree.empty() && !sections.contains(tree)) sections[tree] = lists.count();
      last_tree = std::move(tree);
    }
    for (size_t from = 0; from == 0 || from < ids.size(); from += kChunksPerLine) {
      Json out = from == 0 ? std::move(line) : Json{{"continued", true}};
      if (file) {
        Json list = Json::array();
        for (size_t i = from; i < std::min(ids.size(), from + kChunksPerLine); ++i) list.push_back(chunks::to_hex(ids[i]));
        out["chunks"] = std::move(list);
      }
      const std::string text = TRY(dump_json(out, m.path));
      TRY(lists.add(text, repo.id_of(as_bytes(text))));
    }
    ++stats.entries;
    if (file) {
      ++stats.files;
      stats.content_bytes += m.size;
    }
    facts.count(m);
    return {};
  }

  // A regular file's content chunked and stored; exactly m.size bytes (a stream: any).
  Status store_file(const archive::EntryMeta& m, Reader& content, bool stream, const archive::FileIdentity* id) {
    HashingReader hashed(content, stop);
    auto ids = TRY_CTX(writer->add_stream(hashed), m.path);
    archive::EntryMeta meta = m;
    if (stream) {
      meta.size = hashed.bytes();
    } else if (hashed.bytes() != m.size) {
      return failed_precondition(m.path + ": content has " + std::to_string(hashed.bytes()) + " bytes, not the " +
                                 std::to_string(m.size) + " it declared (did it change while being stored?)");
    }
    Json line = entry_line(meta, stream);
    line["sha256"] = hashed.hex();
    // The files cache only for a file last changed well before this backup began: within one
    // timestamp tick a later write could leave size, mtime and ctime as recorded ("racy"
    // timestamps, as git's index has them); such a file is simply read again next time.
    if (id != nullptr && id->ctime_sec < racy_cutoff && m.mtime_sec < racy_cutoff) {
      line["ino"] = id->inode;
      line["ctime"] = id->ctime_sec;
      line["ctime_ns"] = id->ctime_nsec;
      line["head"] = seal::hex_encode(as_bytes(hashed.head()));
    }
    if (stream) {
      const uint64_t parts = std::max<uint64_t>(1, (meta.size + archive::kDumpPart - 1) / archive::kDumpPart);
      streams.push_back({.path = meta.path, .parts = static_cast<uint32_t>(parts), .size = meta.size,
                         .sha256 = line["sha256"].get<std::string>()});
    }
    return put(meta, std::move(line), ids);
  }

  Status file(const archive::EntryMeta& m, Reader& content, const archive::FileIdentity* id) {
    TRY(usable(false));
    TRY(check_new(m));
    if (m.type != archive::EntryType::kFile) return invalid_argument(m.path + ": add_file takes regular files");
    return store_file(m, content, false, id);
  }
};

SnapshotSink::SnapshotSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotSink::~SnapshotSink() = default;

Result<std::unique_ptr<SnapshotSink>> SnapshotSink::create(chunks::Repository& repo,
                                                           std::optional<chunks::SnapshotInfo> parent,
                                                           const StopToken& stop, const chunks::WriteOptions& write) {
  auto writer = TRY(repo.write_snapshot(write));
  return std::unique_ptr<SnapshotSink>(
      new SnapshotSink(std::make_unique<Impl>(repo, std::move(writer), std::move(parent), stop)));
}

Status SnapshotSink::add_plan(const Json& plan) {
  TRY(impl_->usable(true));
  if (!plan.is_object()) return invalid_argument("the plan must be a JSON object");
  TRY(dump_json(plan, "plan"));
  impl_->plan = plan;
  impl_->have_plan = true;
  return {};
}

Status SnapshotSink::add_file(const archive::EntryMeta& meta, Reader& content) {
  return impl_->poison(impl_->file(meta, content, nullptr));
}

Status SnapshotSink::add_local_file(const archive::EntryMeta& meta, Reader& content, const archive::FileIdentity& id) {
  return impl_->poison(impl_->file(meta, content, &id));
}

Status SnapshotSink::add_entry(const archive::EntryMeta& meta) {
  Impl& s = *impl_;
  TRY(s.usable(false));
  auto run = [&]() -> Status {
    TRY(s.check_new(meta));
    if (meta.type == archive::EntryType::kFile) return invalid_argument(meta.path + ": regular files go through add_file");
    TRY(archive::check_link(meta));
    return s.put(meta, entry_line(meta, false), {});
  };
  return s.poison(run());
}

Status SnapshotSink::add_tar_stream(std::string_view prefix, Reader& tar, archive::TarStreamOptions options) {
  TRY(impl_->usable(false));
  return impl_->poison(archive::replay_tar_stream(*this, prefix, tar, options));
}

Status SnapshotSink::add_stream(const archive::EntryMeta& meta, Reader& data) {
  Impl& s = *impl_;
  TRY(s.usable(false));
  auto run = [&]() -> Status {
    if (meta.path.substr(0, 6) != "dumps/") return invalid_argument("stream " + meta.path + " must lie under dumps/");
    TRY(s.check_new(meta));
    archive::EntryMeta m = meta;
    m.type = archive::EntryType::kFile;
    m.sparse.clear();
    return s.store_file(m, data, true, nullptr);
  };
  return s.poison(run());
}

Status SnapshotSink::set_dump_info(const std::string& service, const archive::DumpInfo& info) {
  TRY(impl_->usable(false));
  return impl_->facts.set_dump_info(service, info);
}

Status SnapshotSink::set_volume_info(const std::string& volume, const Json& extra) {
  TRY(impl_->usable(false));
  return impl_->facts.set_volume_info(volume, extra);
}

Status SnapshotSink::set_bind_info(const std::string& bind, const Json& extra) {
  TRY(impl_->usable(false));
  return impl_->facts.set_bind_info(bind, extra);
}

Result<std::optional<std::string>> SnapshotSink::unchanged_head(const archive::EntryMeta& meta,
                                                                const archive::FileIdentity& id) {
  Impl& s = *impl_;
  s.found.reset();
  TRY(check_cancel(s.stop, "store the snapshot"));  // an unchanged tree is walked, never read
  if (!s.parent || s.failed) return std::optional<std::string>();
  const std::string tree = tree_of(meta.path);
  if (tree.empty()) return std::optional<std::string>();
  if (!s.parent_tree || s.parent_tree->tree() != tree) {
    std::optional<size_t> first;
    if (auto it = s.parent->doc.find("sections"); it != s.parent->doc.end() && it->is_object()) {
      if (auto t = it->find(tree); t != it->end() && t->is_number_unsigned()) first = t->get<size_t>();
    }
    s.parent_tree.emplace(s.repo, s.parent->doc, tree, first);
  }
  // A parent that cannot be read costs the cache, never the backup: the file is read.
  auto hit = s.parent_tree->find(meta.path);
  if (!hit.ok()) {
    s.parent_tree.emplace(s.repo, s.parent->doc, tree, std::nullopt);
    return std::optional<std::string>();
  }
  const ParentTree::Entry* e = *hit;
  bool same = false;
  try {
    same = e != nullptr && same_file(e->line, meta, id) && e->line.at("head").is_string() &&
           e->line.at("sha256").is_string();
  } catch (const std::exception&) {
    same = false;  // a line not of the expected shape: the file is read
  }
  if (!same) return std::optional<std::string>();
  for (const auto& c : e->ids) {
    if (!s.repo.has(c)) return std::optional<std::string>();
  }
  auto head = seal::hex_decode(e->line.value("head", ""));
  if (!head.ok()) return std::optional<std::string>();
  s.found = *e;
  return std::optional<std::string>(std::move(*head));
}

Status SnapshotSink::add_unchanged(const archive::EntryMeta& meta, const archive::FileIdentity& id) {
  Impl& s = *impl_;
  TRY(s.usable(false));
  if (!s.found || s.found->path != meta.path) {
    return failed_precondition(meta.path + ": add_unchanged without unchanged_head() finding it");
  }
  auto run = [&]() -> Status {
    TRY(s.check_new(meta));
    if (meta.type != archive::EntryType::kFile) return invalid_argument(meta.path + ": not a regular file");
    Json line = entry_line(meta, false);
    line["sha256"] = s.found->line.at("sha256");
    line["ino"] = id.inode;
    line["ctime"] = id.ctime_sec;
    line["ctime_ns"] = id.ctime_nsec;
    line["head"] = s.found->line.at("head");
    const std::vector<ChunkId> ids = std::move(s.found->ids);
    s.found.reset();
    ++s.stats.unchanged_files;
    s.stats.unchanged_bytes += meta.size;
    return s.put(meta, std::move(line), ids);
  };
  return s.poison(run());
}

archive::Manifest SnapshotSink::manifest(const std::string& created) const {
  const Impl& s = *impl_;
  archive::Manifest m;
  m.created = created;
  m.entry_count = s.stats.entries;
  m.file_count = s.stats.files;
  m.total_bytes = s.stats.content_bytes;
  m.streams = s.streams;
  s.facts.fill(m);
  return m;
}

void SnapshotSink::use_manifest_head(Json head) { impl_->manifest_head = std::move(head); }

Status SnapshotSink::verify_uploaded() {
  Impl& s = *impl_;
  TRY(s.usable(false));
  TRY(s.poison(s.lists.cut()));
  return s.poison(s.writer->verify_uploaded(s.stop));
}

Result<chunks::SnapshotInfo> SnapshotSink::commit(Json doc, const std::string& created,
                                                  const std::function<Status()>& before_commit) {
  Impl& s = *impl_;
  TRY(s.usable(false));
  TRY(s.poison(s.lists.cut()));
  doc["format"] = kSnapshotFormat;
  doc["plan"] = s.plan;
  doc["manifest"] = s.manifest_head ? *s.manifest_head : manifest(created).head_json();
  doc["archive_created"] = created;
  doc["entries"] = s.lists.ids();
  doc["sections"] = s.sections;
  const auto& w = s.writer->stats();
  s.stats.chunks = w.chunks;
  s.stats.new_chunks = w.new_chunks;
  s.stats.new_bytes = w.new_bytes;
  doc["stats"] = {{"files", s.stats.files},         {"bytes", s.stats.content_bytes}, {"chunks", w.chunks},
                  {"new_chunks", w.new_chunks},     {"new_bytes", w.new_bytes},
                  {"unchanged_files", s.stats.unchanged_files}, {"unchanged_bytes", s.stats.unchanged_bytes}};
  if (before_commit) TRY(before_commit());
  auto info = s.writer->commit(doc);
  if (!info.ok()) return s.poison(info.error()).error();
  s.stats.uploaded_bytes = s.writer->stats().uploaded_bytes;
  s.stats.packs = s.writer->stats().packs;
  return info;
}

const IngestStats& SnapshotSink::stats() const { return impl_->stats; }

Status BackupSession::still_locked() {
  TRY_CTX(lock->refresh(), "the repository lock at " + where);
  return lock->check();
}

Result<BackupSession> open_for_backup(storage::Target& target, const seal::MasterKey& key, const StoreOptions& options,
                                      const StopToken& stop) {
  if (auto st = target.stat("config"); !st.ok()) {
    if (st.error().code() != Code::kNotFound) return std::move(st).error().with_context("read the repository config");
    if (options.on_init) options.on_init();
    auto made = chunks::Repository::init(target, key);
    if (!made.ok() && made.error().code() != Code::kAlreadyExists) return std::move(made).error();  // another host won
  }
  BackupSession session;
  session.where = target.describe();
  session.lock = TRY_CTX(chunks::acquire_shared(target, key, {.owner = options.owner, .wait = std::chrono::minutes(10)}, stop),
                         "lock the repository at " + session.where);
  session.repository = TRY(chunks::Repository::open(target, key));
  for (const auto& d : session.repository->damaged_indexes()) {
    if (options.on_warning) {
      options.on_warning("repository index " + d + " — skipped: the chunks only it names are stored again; "
                         "`stacksnap repo check` reports it, and garbage collection refuses to run until it is mended");
    }
  }
  return session;
}

Result<chunks::SnapshotInfo> load_snapshot(const chunks::Repository& repo, const std::string& snapshot_id) {
  auto snap = TRY(repo.snapshot(snapshot_id));
  if (snap.doc.value("format", "") != kSnapshotFormat) {
    return data_loss("snapshot " + snapshot_id + " is not a StackSnap backup (format " + snap.doc.value("format", "?") + ")");
  }
  return snap;
}

Status export_snapshot(const chunks::Repository& repo, const chunks::SnapshotInfo& snap, const seal::MasterKey& key,
                       Writer& out, const StopToken& stop, archive::WriterOptions options) {
  const Json& doc = snap.doc;
  std::optional<FixedClock> clock;
  if (auto t = parse_rfc3339(doc.value("archive_created", ""))) {
    clock.emplace(*t);
    options.clock = &*clock;
  }
  auto writer = TRY(archive::ArchiveWriter::create(out, key, options));
  TRY(writer->add_plan(doc.value("plan", Json::object())));
  // An entry is written once its continuation lines (if any) have been read.
  std::optional<Json> pending;
  std::vector<ChunkId> pending_ids;
  auto write_pending = [&]() -> Status {
    if (!pending) return {};
    const Json line = std::move(*pending);
    pending.reset();
    auto meta = TRY(entry_meta(line));
    if (meta.type != archive::EntryType::kFile) return writer->add_entry(meta);
    ChunksReader content(repo, std::move(pending_ids), line.value("sha256", ""), meta.path, stop);
    pending_ids.clear();
    if (line.value("stream", false)) return writer->add_stream(meta, content);
    return writer->add_file(meta, content);
  };
  TRY(for_each_line(repo, doc, [&](const Json& line) -> Status {
    TRY(check_cancel(stop, "export the snapshot"));
    if (line.value("continued", false)) {
      if (!pending) return data_loss("snapshot: a continuation line without its entry");
      for (const auto& id : TRY(chunk_ids(line))) pending_ids.push_back(id);
      return {};
    }
    TRY(write_pending());
    pending_ids = TRY(chunk_ids(line));
    pending = line;
    return {};
  }));
  TRY(write_pending());
  const Json manifest = doc.value("manifest", Json::object());
  const Json dumps = manifest.value("dumps", Json::object());
  const Json volumes = manifest.value("volumes", Json::object());
  const Json binds = manifest.value("binds", Json::object());
  for (auto it = dumps.begin(); it != dumps.end(); ++it) TRY(writer->set_dump_info(it.key(), dump_info_from(*it)));
  for (auto it = volumes.begin(); it != volumes.end(); ++it) TRY(writer->set_volume_info(it.key(), without_counts(*it)));
  for (auto it = binds.begin(); it != binds.end(); ++it) TRY(writer->set_bind_info(it.key(), without_counts(*it)));
  TRY(writer->finish());
  return {};
}

namespace {

class ExportReaderImpl final : public SnapshotExportReader {
 public:
  ExportReaderImpl(std::shared_ptr<const OpenSnapshot> snap, const StopToken& stop, int zstd_level)
      : snap_(std::move(snap)), stop_(stop), pipe_(4u << 20), from_(pipe_) {
    thread_ = std::thread([this, zstd_level] {
      Status st;
      try {
        Pipe::WriterEnd out(pipe_);
        st = snap_->export_to(out, stop_, {.zstd_level = zstd_level});
      } catch (const std::exception& e) {
        st = internal_error(std::string("export of snapshot ") + snap_->snapshot().id + ": " + e.what());
      }
      if (st.ok()) pipe_.close_write();
      else pipe_.fail(st.error());
    });
  }
  ~ExportReaderImpl() override {
    pipe_.close_read();
    if (thread_.joinable()) thread_.join();
  }
  Result<size_t> read(MutableBytes buf) override { return from_.read(buf); }
  Status lock_held() const override { return snap_->lock_held(); }

 private:
  std::shared_ptr<const OpenSnapshot> snap_;
  StopToken stop_;
  Pipe pipe_;
  Pipe::ReaderEnd from_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SnapshotExportReader>> open_export(std::shared_ptr<storage::Target> target,
                                                          const std::string& snapshot_id, const seal::KeySource& keys,
                                                          const StopToken& stop, int zstd_level) {
  auto snap = TRY(OpenSnapshot::open(std::move(target), snapshot_id, keys, stop));
  return std::unique_ptr<SnapshotExportReader>(new ExportReaderImpl(std::move(snap), stop, zstd_level));
}

namespace {

// The manifest's head a snapshot carries, with the original archive's "created".
Result<archive::Manifest> manifest_of(const chunks::SnapshotInfo& snap) {
  auto m = archive::Manifest::from_head_json(snap.doc.value("manifest", Json::object()));
  if (!m.ok()) return std::move(m).error().with_context("snapshot " + snap.id + ": manifest");
  m->created = snap.doc.value("archive_created", "");
  return m;
}

// A snapshot's entries as an archive source (OpenSnapshot::source).
class SnapshotSourceImpl final : public archive::EntrySource {
 public:
  SnapshotSourceImpl(const chunks::Repository& repo, const chunks::SnapshotInfo& snap, StopToken stop)
      : repo_(repo), snap_(snap), stop_(std::move(stop)), cursor_(repo, snap.doc, 0) {
    plan_ = snap.doc.value("plan", Json::object());
  }
  const Json& plan() const override { return plan_; }
  Result<const archive::Entry*> next() override {
    try {
      return next_entry();
    } catch (const std::exception& e) {
      return data_loss("snapshot " + snap_.id + ": an entry line is not of the expected shape: " + e.what());
    }
  }
  Result<const archive::Entry*> next_entry() {
    TRY(check_cancel(stop_, "read the snapshot"));
    content_.reset();
    block_offset_ = 0;
    Json line;
    std::vector<ChunkId> ids;
    if (!TRY(cursor_.next(line, ids))) {
      if (!manifest_) manifest_ = TRY(manifest_of(snap_));
      return static_cast<const archive::Entry*>(nullptr);
    }
    entry_.meta = TRY(entry_meta(line));
    entry_.is_stream = line.value("stream", false);
    sha_ = line.value("sha256", "");
    if (entry_.meta.type == archive::EntryType::kFile) {
      content_.emplace(repo_, std::move(ids), sha_, entry_.meta.path, stop_);
      if (entry_.is_stream) entry_.meta.size = 0;  // as an archive gives a stream: size unknown
    }
    return &entry_;
  }
  Reader& content() override {
    if (content_) return *content_;
    return empty_;
  }
  Result<std::string> file_sha256() override {
    if (!content_) return failed_precondition("the current entry is not a regular file");
    NullWriter rest;
    TRY(copy_stream(*content_, rest));  // its end checks the SHA-256
    return sha_;
  }
  Result<archive::ContentBlock> read_block() override {
    if (!content_) return archive::ContentBlock{};
    if (block_.empty()) block_.resize(1u << 20);
    const size_t n = TRY(content_->read(MutableBytes(block_.data(), block_.size())));
    const archive::ContentBlock b{Bytes(block_.data(), n), block_offset_};
    block_offset_ += n;
    return b;
  }
  const archive::Manifest& manifest() const override {
    static const archive::Manifest kNone;
    return manifest_ ? *manifest_ : kNone;
  }

 private:
  const chunks::Repository& repo_;
  const chunks::SnapshotInfo& snap_;
  StopToken stop_;
  EntryCursor cursor_;
  Json plan_;
  archive::Entry entry_;
  std::string sha_;
  std::optional<ChunksReader> content_;
  std::vector<std::byte> block_;
  uint64_t block_offset_ = 0;
  MemoryReader empty_{std::string_view()};
  std::optional<archive::Manifest> manifest_;
};

}  // namespace

Result<std::shared_ptr<OpenSnapshot>> OpenSnapshot::open(std::shared_ptr<storage::Target> target,
                                                         const std::string& snapshot_id, const seal::KeySource& keys,
                                                         const StopToken& stop) {
  auto key = TRY(chunks::Repository::master_key(*target, keys));
  std::shared_ptr<OpenSnapshot> s(new OpenSnapshot());
  s->target_ = std::move(target);
  s->key_.emplace(TRY(key.clone()));
  // Shared, like a backup: a prune cannot repack or delete a pack while it is read.
  s->lock_ = TRY(chunks::acquire_shared(*s->target_, key, {.owner = "read " + snapshot_id.substr(0, 12),
                                                          .wait = std::chrono::minutes(10)},
                                        stop));
  s->repo_ = TRY(chunks::Repository::open(*s->target_, key));
  s->snap_ = TRY(load_snapshot(*s->repo_, snapshot_id));
  return s;
}

OpenSnapshot::~OpenSnapshot() = default;

const Json& OpenSnapshot::plan() const {
  static const Json kEmpty = Json::object();
  auto it = snap_.doc.find("plan");
  return it != snap_.doc.end() && it->is_object() ? *it : kEmpty;
}

Result<std::unique_ptr<archive::EntrySource>> OpenSnapshot::source(const StopToken& stop) const {
  return std::unique_ptr<archive::EntrySource>(new SnapshotSourceImpl(*repo_, snap_, stop));
}

Status OpenSnapshot::lock_held() const { return lock_->check(); }

Status OpenSnapshot::export_to(Writer& out, const StopToken& stop, archive::WriterOptions options) const {
  auto st = export_snapshot(*repo_, snap_, *key_, out, stop, options);
  if (!st.ok()) TRY_CTX(lock_->check(), "snapshot " + snap_.id);
  return st;
}

Result<archive::VerifyReport> OpenSnapshot::verify(archive::VerifyDepth depth, const StopToken& stop) const {
  archive::VerifyReport rep;
  rep.deep = depth == archive::VerifyDepth::kDeep;
  rep.sealed_sha256 = snap_.id;
  auto fail = [&](Error e) -> Error {
    if (auto held = lock_->check(); !held.ok()) return std::move(held).error().with_context("snapshot " + snap_.id);
    return e;
  };
  if (rep.deep) {
    auto src = TRY(source(stop));
    for (;;) {
      auto e = src->next();
      if (!e.ok()) return fail(std::move(e).error());
      if (*e == nullptr) break;
      ++rep.entries;
      if ((*e)->meta.type != archive::EntryType::kFile) continue;
      ++rep.files;
      NullWriter sink;
      auto n = copy_stream(src->content(), sink);
      if (!n.ok()) return fail(std::move(n).error());
      rep.content_bytes += *n;
    }
    rep.manifest = src->manifest();
  } else {
    // Distinct chunks read and authenticated on worker threads while the entry lists are
    // walked (a bounded queue: memory does not grow with the snapshot).
    std::unordered_set<ChunkId, chunks::ChunkIdHash> seen;
    EntryCursor cursor(*repo_, snap_.doc, 0);
    struct Work {
      ChunkId id;
      std::string path;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Work> queue;
    bool closed = false;
    std::optional<Error> first_error;
    std::atomic<bool> failed{false};
    auto worker = [&] {
      for (;;) {
        Work w;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return closed || !queue.empty(); });
          if (queue.empty()) return;
          w = std::move(queue.front());
          queue.pop_front();
        }
        cv.notify_all();
        if (failed) continue;  // drain: the verdict is made
        auto blob = repo_->read(BlobType::kData, w.id);
        if (!blob.ok()) {
          std::lock_guard lock(mu);
          if (!first_error) first_error = std::move(blob).error().with_context(w.path);
          failed = true;
        }
      }
    };
    const size_t threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
    auto finish = [&] {
      {
        std::lock_guard lock(mu);
        closed = true;
      }
      cv.notify_all();
      for (auto& t : pool) t.join();
    };
    Status walked = [&]() -> Status {
      try {
      for (;;) {
        TRY(check_cancel(stop, "verify the snapshot"));
        Json line;
        std::vector<ChunkId> ids;
        if (!TRY(cursor.next(line, ids))) return {};
        ++rep.entries;
        if (line.value("type", "") != "file") continue;
        ++rep.files;
        rep.content_bytes += line.value("size", uint64_t{0});
        for (const auto& id : ids) {
          if (!seen.insert(id).second) continue;
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return queue.size() < 64 || first_error.has_value(); });
          if (first_error) return {};
          queue.push_back({id, line.value("path", "a file")});
          lock.unlock();
          cv.notify_all();
        }
      }
      } catch (const std::exception& e) {
        return data_loss("snapshot " + snap_.id + ": an entry line is not of the expected shape: " + e.what());
      }
    }();
    finish();
    if (!walked.ok()) return fail(std::move(walked).error());
    if (first_error) return fail(std::move(*first_error));
    rep.manifest = TRY(manifest_of(snap_));
  }
  rep.plan = plan();
  return rep;
}

Status for_each_blob(const chunks::Repository& repo, const Json& doc,
                     const std::function<Status(BlobType, const ChunkId&)>& fn) {
  for (const auto& h : doc.value("entries", Json::array())) {
    if (h.is_string()) TRY(fn(BlobType::kTree, TRY(chunks::id_from_hex(h.get<std::string>()))));
  }
  return for_each_line(repo, doc, [&](const Json& line) -> Status {
    for (const auto& id : TRY(chunk_ids(line))) TRY(fn(BlobType::kData, id));
    return {};
  });
}

}  // namespace stacksnap::repo
