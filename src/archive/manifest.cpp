#include "archive/manifest.h"

#include "base/text.h"

#include <zstd.h>

#include <istream>
#include <streambuf>

#include "seal/crypto.h"

namespace stacksnap::archive {

using nlohmann::json;

namespace {

bool valid_utf8(std::string_view s) { return is_valid_utf8(s); }

// Byte strings that are not UTF-8 (Linux names are bytes) go to "<key>_hex".
void put_bytes(json& j, const char* key, const std::string& value) {
  if (valid_utf8(value)) j[key] = value;
  else j[std::string(key) + "_hex"] = seal::hex_encode(as_bytes(value));
}

Result<std::string> get_bytes(const json& j, const char* key, bool required) {
  if (auto it = j.find(key); it != j.end()) return it->get<std::string>();
  if (auto it = j.find(std::string(key) + "_hex"); it != j.end()) {
    return seal::hex_decode(it->get<std::string>());
  }
  if (required) return data_loss(std::string("manifest entry without \"") + key + "\"");
  return std::string();
}

constexpr size_t kLogChunk = 256 * 1024;

}  // namespace

bool is_stream_part_name(std::string_view path, std::string* logical, uint32_t* index) {
  constexpr std::string_view kSuffix = ".part";
  if (path.substr(0, 6) != "dumps/" || path.size() < 6 + 1 + kSuffix.size() + 6) return false;
  std::string_view digits = path.substr(path.size() - 6);
  if (path.substr(path.size() - 6 - kSuffix.size(), kSuffix.size()) != kSuffix) return false;
  uint32_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n == 0) return false;
  if (logical) *logical = std::string(path.substr(0, path.size() - 6 - kSuffix.size()));
  if (index) *index = n;
  return true;
}

ManifestEntry manifest_entry_for(const EntryMeta& m, std::string sha256_hex) {
  ManifestEntry e;
  e.path = m.path;
  e.type = m.type;
  e.size = m.type == EntryType::kFile ? m.size : 0;
  e.mode = m.mode & 07777;
  e.uid = m.uid;
  e.gid = m.gid;
  e.mtime_sec = m.mtime_sec;
  e.mtime_nsec = m.mtime_nsec;
  if (m.type == EntryType::kFile) e.sha256 = std::move(sha256_hex);
  if (m.type == EntryType::kSymlink || m.type == EntryType::kHardlink) e.link = m.link;
  return e;
}

json to_json(const ManifestEntry& e) {
  json j = json::object();
  put_bytes(j, "path", e.path);
  j["type"] = entry_type_name(e.type);
  j["size"] = e.size;
  j["mode"] = e.mode;
  j["uid"] = e.uid;
  j["gid"] = e.gid;
  j["mtime"] = e.mtime_sec;
  if (e.mtime_nsec != 0) j["mtime_nsec"] = e.mtime_nsec;
  if (!e.sha256.empty()) j["sha256"] = e.sha256;
  if (!e.link.empty()) put_bytes(j, "link", e.link);
  return j;
}

Result<ManifestEntry> manifest_entry_from_json(const json& j) {
  try {
    ManifestEntry e;
    e.path = TRY(get_bytes(j, "path", true));
    auto type = parse_entry_type(j.at("type").get<std::string>());
    if (!type.ok()) return data_loss("manifest entry " + e.path + ": " + type.error().message());
    e.type = *type;
    e.size = j.at("size").get<uint64_t>();
    e.mode = j.at("mode").get<uint32_t>();
    e.uid = j.at("uid").get<uint32_t>();
    e.gid = j.at("gid").get<uint32_t>();
    e.mtime_sec = j.at("mtime").get<int64_t>();
    e.mtime_nsec = j.value("mtime_nsec", uint32_t{0});
    e.sha256 = j.value("sha256", "");
    e.link = TRY(get_bytes(j, "link", false));
    return e;
  } catch (const json::exception& ex) {
    return data_loss(std::string("malformed manifest entry: ") + ex.what());
  }
}

std::string describe_difference(const ManifestEntry& a, const ManifestEntry& b) {
  std::string out;
  auto add = [&](const std::string& field, const std::string& x, const std::string& y) {
    if (x == y) return;
    if (!out.empty()) out += ", ";
    out += field + " " + x + " in the manifest, " + y + " in the archive";
  };
  add("path", a.path, b.path);
  add("type", std::string(entry_type_name(a.type)), std::string(entry_type_name(b.type)));
  add("size", std::to_string(a.size), std::to_string(b.size));
  add("mode", std::to_string(a.mode), std::to_string(b.mode));
  add("uid", std::to_string(a.uid), std::to_string(b.uid));
  add("gid", std::to_string(a.gid), std::to_string(b.gid));
  add("mtime", std::to_string(a.mtime_sec) + "." + std::to_string(a.mtime_nsec),
      std::to_string(b.mtime_sec) + "." + std::to_string(b.mtime_nsec));
  add("SHA-256", a.sha256, b.sha256);
  add("link", a.link, b.link);
  return out;
}

json to_json(const DumpInfo& d) {
  json j = d.extra.is_object() ? d.extra : json::object();
  j["engine"] = d.engine;
  j["version"] = d.version;
  json dbs = json::object();
  for (const auto& [db, tables] : d.row_counts) {
    json t = json::object();
    for (const auto& [name, rows] : tables) t[name] = rows;
    dbs[db] = {{"tables", t}};
  }
  j["databases"] = dbs;
  return j;
}

json Manifest::head_json() const {
  json j = json::object();
  j["format"] = "stacksnap-manifest";
  j["version"] = kManifestVersion;
  j["created"] = created;
  j["totals"] = {{"entries", entry_count}, {"files", file_count}, {"bytes", total_bytes}};
  json s = json::array();
  for (const auto& r : streams) {
    json x = json::object();
    put_bytes(x, "path", r.path);
    x["parts"] = r.parts;
    x["size"] = r.size;
    x["sha256"] = r.sha256;
    s.push_back(std::move(x));
  }
  j["streams"] = std::move(s);
  j["dumps"] = json(dumps);
  j["volumes"] = json(volumes);
  j["binds"] = json(binds);
  return j;
}

Result<Manifest> Manifest::from_head_json(const json& j) {
  try {
    if (j.at("format") != "stacksnap-manifest") return data_loss("manifest: wrong \"format\"");
    if (j.at("version") != kManifestVersion) {
      return data_loss("manifest: unsupported version " + j.at("version").dump());
    }
    Manifest m;
    m.created = j.value("created", "");
    const auto& t = j.at("totals");
    m.entry_count = t.at("entries").get<uint64_t>();
    m.file_count = t.at("files").get<uint64_t>();
    m.total_bytes = t.at("bytes").get<uint64_t>();
    for (const auto& x : j.at("streams")) {
      StreamRecord r;
      r.path = TRY(get_bytes(x, "path", true));
      r.parts = x.at("parts").get<uint32_t>();
      r.size = x.at("size").get<uint64_t>();
      r.sha256 = x.at("sha256").get<std::string>();
      m.streams.push_back(std::move(r));
    }
    for (const auto& [k, v] : j.at("dumps").items()) m.dumps[k] = v;
    for (const auto& [k, v] : j.at("volumes").items()) m.volumes[k] = v;
    if (auto it = j.find("binds"); it != j.end()) {
      for (const auto& [k, v] : it->items()) m.binds[k] = v;
    }
    return m;
  } catch (const json::exception& ex) {
    return data_loss(std::string("malformed manifest: ") + ex.what());
  }
}

// ---- LineLog ----------------------------------------------------------------------

LineLog::LineLog() = default;
LineLog::~LineLog() = default;
LineLog::LineLog(LineLog&&) noexcept = default;
LineLog& LineLog::operator=(LineLog&&) noexcept = default;

void LineLog::append(std::string_view line) {
  pending_.append(line);
  pending_ += '\n';
  ++count_;
  raw_bytes_ += line.size();
  if (pending_.size() >= kLogChunk) seal_pending();
}

void LineLog::seal_pending() {
  if (pending_.empty()) return;
  std::string out(ZSTD_compressBound(pending_.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), pending_.data(), pending_.size(), 1);
  if (ZSTD_isError(n)) {  // cannot happen with a bound-sized buffer; keep the text then
    chunks_.push_back("R" + pending_);
  } else {
    out.resize(n);
    chunks_.push_back("Z" + out);
  }
  chunks_.back().shrink_to_fit();
  pending_.clear();
}

size_t LineLog::memory_bytes() const {
  size_t n = pending_.capacity();
  for (const auto& c : chunks_) n += c.capacity();
  return n;
}

Result<std::optional<std::string_view>> LineLog::Cursor::next() {
  while (pos_ >= buf_.size()) {
    if (chunk_ < log_.chunks_.size()) {
      const std::string& c = log_.chunks_[chunk_++];
      if (c[0] == 'R') {
        buf_ = c.substr(1);
      } else {
        unsigned long long size = ZSTD_getFrameContentSize(c.data() + 1, c.size() - 1);
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
          return internal_error("entry log chunk is unreadable");
        }
        buf_.resize(size);
        size_t n = ZSTD_decompress(buf_.data(), buf_.size(), c.data() + 1, c.size() - 1);
        if (ZSTD_isError(n)) return internal_error("entry log chunk is unreadable");
      }
      pos_ = 0;
    } else if (!pending_done_) {
      pending_done_ = true;
      buf_ = log_.pending_;
      pos_ = 0;
    } else {
      return std::optional<std::string_view>{};
    }
  }
  size_t nl = buf_.find('\n', pos_);
  std::string_view line(buf_.data() + pos_, nl - pos_);
  pos_ = nl + 1;
  return std::optional<std::string_view>{line};
}

// ---- serializer -------------------------------------------------------------------

ManifestSerializer::ManifestSerializer(const Manifest& m, const LineLog& entries) : entries_(entries) {
  std::string head = m.head_json().dump();
  head.pop_back();  // the closing '}'
  head_ = head + ",\"entries\":[";
  // head + "\n" + lines joined by ",\n" + "\n]}\n"
  size_ = head_.size() + 1 + entries.raw_bytes() + (entries.count() > 0 ? 2 * (entries.count() - 1) : 0) + 4;
}

Status ManifestSerializer::write_to(Writer& out) const {
  TRY(out.write(as_bytes(head_ + "\n")));
  LineLog::Cursor cur(entries_);
  std::string batch;
  bool first = true;
  for (;;) {
    auto line = TRY(cur.next());
    if (!line) break;
    if (!first) batch += ",\n";
    first = false;
    batch.append(*line);
    if (batch.size() >= 64 * 1024) {
      TRY(out.write(as_bytes(batch)));
      batch.clear();
    }
  }
  batch += "\n]}\n";
  return out.write(as_bytes(batch));
}

// ---- streaming parse --------------------------------------------------------------

namespace {

class ReaderStreamBuf final : public std::streambuf {
 public:
  explicit ReaderStreamBuf(Reader& r) : r_(r), buf_(64 * 1024) {}
  std::optional<Error> error;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    auto n = r_.read(MutableBytes(reinterpret_cast<std::byte*>(buf_.data()), buf_.size()));
    if (!n.ok()) {
      error = std::move(n).error();
      return traits_type::eof();
    }
    if (*n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + *n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  Reader& r_;
  std::vector<char> buf_;
};

// Builds the head document; elements of the top-level "entries" array are built one at
// a time, handed to the callback and dropped.
class ManifestSax final : public nlohmann::json_sax<json> {
 public:
  explicit ManifestSax(const std::function<Status(const ManifestEntry&)>& on_entry) : on_entry_(on_entry) {}
  json head;
  std::optional<Error> error;
  bool saw_entries = false;

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override { return value(v); }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool string(string_t& v) override { return value(v); }
  bool binary(binary_t&) override { return fail("binary value in manifest"); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool start_object(std::size_t) override {
    if (in_entries() && stack_.size() == entries_depth_) {
      entry_ = json::object();
      stack_.push_back(&entry_);
      return true;
    }
    json* v = add(json::object());
    if (v == nullptr) return false;
    stack_.push_back(v);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    if (in_entries() && stack_.size() == entries_depth_) {
      auto e = manifest_entry_from_json(entry_);
      if (!e.ok()) {
        error = std::move(e).error();
        return false;
      }
      if (auto st = on_entry_(*e); !st.ok()) {
        error = std::move(st).error();
        return false;
      }
    }
    return true;
  }
  bool start_array(std::size_t) override {
    if (stack_.size() == 1 && key_ == "entries" && !saw_entries) {
      saw_entries = true;
      stack_.push_back(nullptr);  // not materialised
      entries_depth_ = stack_.size();
      return true;
    }
    json* v = add(json::array());
    if (v == nullptr) return false;
    stack_.push_back(v);
    return true;
  }
  bool end_array() override {
    if (stack_.back() == nullptr) entries_depth_ = 0;
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& ex) override {
    return fail("manifest JSON malformed at byte " + std::to_string(pos) + ": " + ex.what());
  }

 private:
  bool in_entries() const { return entries_depth_ != 0; }
  bool fail(std::string m) {
    if (!error) error = data_loss(std::move(m));
    return false;
  }
  bool value(json v) {
    if (in_entries() && stack_.size() == entries_depth_) return fail("manifest entry is not an object");
    return add(std::move(v)) != nullptr;
  }
  json* add(json v) {
    if (stack_.empty()) {
      head = std::move(v);
      return &head;
    }
    json* parent = stack_.back();
    if (parent == nullptr) {
      fail("manifest entry is not an object");
      return nullptr;
    }
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }

  const std::function<Status(const ManifestEntry&)>& on_entry_;
  std::vector<json*> stack_;
  size_t entries_depth_ = 0;
  std::string key_;
  json entry_;
};

}  // namespace

Result<Manifest> parse_manifest(Reader& in, const std::function<Status(const ManifestEntry&)>& on_entry) {
  ReaderStreamBuf sb(in);
  std::istream is(&sb);
  ManifestSax sax(on_entry);
  bool ok = false;
  try {
    ok = json::sax_parse(is, &sax);
  } catch (const json::exception& ex) {
    return data_loss(std::string("manifest JSON malformed: ") + ex.what());
  }
  if (sb.error) return Error(*sb.error);
  if (sax.error) return Error(*sax.error);
  if (!ok) return data_loss("manifest JSON malformed");
  if (!sax.head.is_object()) return data_loss("manifest is not a JSON object");
  if (!sax.saw_entries) return data_loss("manifest has no \"entries\" list");
  return Manifest::from_head_json(sax.head);
}

namespace {

// "volumes/<name>/..." → name (also for the directory "volumes/<name>" itself).
std::optional<std::string> tree_name(std::string_view path, std::string_view root) {
  if (path.substr(0, root.size()) != root) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  std::string_view name = rest.substr(0, rest.find('/'));
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

// Facts about one volume or bind tree: a JSON object that serialises.
Status check_tree_info(std::string_view kind, const std::string& name, const json& extra) {
  if (!extra.is_object()) return invalid_argument(std::string(kind) + " info for " + name + " must be a JSON object");
  try {
    (void)extra.dump();
  } catch (const json::exception& e) {
    return invalid_argument(std::string(kind) + " info for " + name + ": " + e.what());
  }
  return {};
}

void tree_records(const std::map<std::string, TreeStats>& stats, const std::map<std::string, json>& extra,
                  std::map<std::string, json>& out) {
  for (const auto& [name, facts] : extra) out[name] = facts;
  for (const auto& [name, t] : stats) out.try_emplace(name, json::object());
  for (auto& [name, j] : out) {
    auto it = stats.find(name);
    j["files"] = it == stats.end() ? 0 : it->second.files;
    j["bytes"] = it == stats.end() ? 0 : it->second.bytes;
  }
}

}  // namespace

void ManifestFacts::count(const EntryMeta& m) {
  if (m.type != EntryType::kFile) return;
  for (auto [root, stats] : {std::pair{std::string_view("volumes/"), &volume_stats_},
                             std::pair{std::string_view("binds/"), &bind_stats_}}) {
    if (auto name = tree_name(m.path, root)) {
      TreeStats& t = (*stats)[*name];
      ++t.files;
      t.bytes += m.size;
    }
  }
}

Status ManifestFacts::set_dump_info(const std::string& service, const DumpInfo& info) {
  try {
    json j = to_json(info);
    (void)j.dump();  // must serialise (valid UTF-8)
    dumps_[service] = std::move(j);
  } catch (const json::exception& e) {
    return invalid_argument("dump info for " + service + ": " + e.what());
  }
  return {};
}

Status ManifestFacts::set_volume_info(const std::string& volume, const json& extra) {
  TRY(check_tree_info("volume", volume, extra));
  volume_extra_[volume] = extra;
  return {};
}

Status ManifestFacts::set_bind_info(const std::string& bind, const json& extra) {
  TRY(check_tree_info("bind", bind, extra));
  bind_extra_[bind] = extra;
  return {};
}

void ManifestFacts::fill(Manifest& m) const {
  m.dumps = dumps_;
  tree_records(volume_stats_, volume_extra_, m.volumes);
  tree_records(bind_stats_, bind_extra_, m.binds);
}

}  // namespace stacksnap::archive
