#include "archive/reader.h"

#include <fcntl.h>

#include "base/fd.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "archive/tar_io.h"
#include "codec/prefetch.h"
#include "codec/zstd.h"
#include "seal/crypto.h"
#include "seal/stream.h"

namespace stacksnap::archive {

using nlohmann::json;

namespace {

constexpr size_t kZeroBuffer = 64 * 1024;
const std::byte* zero_bytes() {
  static const std::vector<std::byte> z(kZeroBuffer);
  return z.data();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<std::string> tree_name(std::string_view path, std::string_view root) {
  if (!starts_with(path, root)) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  std::string_view name = rest.substr(0, rest.find('/'));
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

}  // namespace

struct ArchiveReader::Impl {
  Impl(Reader& i, ReadOptions o) : in(i), opts(o), content_reader(*this) {}

  // Logical content of the current entry, zero-filling holes.
  class ContentReader final : public HoleFillingReader {
   public:
    explicit ContentReader(Impl& impl) : s_(impl) {}
    void reset() { restart(); }

   private:
    uint64_t logical_size() const override { return s_.logical_size; }
    Result<DataBlock> next_block() override {
      if (s_.failed) return Error(*s_.failed);
      ContentBlock b = TRY(s_.guard(s_.next_block()));
      return DataBlock{b.data, b.offset};
    }
    Impl& s_;
  };

  Reader& in;
  ReadOptions opts;
  std::unique_ptr<seal::SealReader> seal;
  std::unique_ptr<codec::PrefetchReader> sealed_prefetch;  // read + authenticate on a thread
  std::unique_ptr<codec::ZstdReader> zstd;
  std::unique_ptr<codec::PrefetchReader> prefetch;  // decompress on another
  std::vector<std::byte> source_buf;
  std::unique_ptr<TarReader> tar;

  std::string plan_text;
  json plan;
  Manifest manifest;
  bool done = false;
  std::optional<Error> failed;

  LineLog computed;
  std::map<std::string, TreeStats> volumes, binds;
  std::vector<StreamRecord> streams;
  ReadStats stats;

  Entry cur;
  bool has_cur = false, cur_done = true;
  EntryMeta tar_meta;
  bool tar_open = false, record_tar_entry = true;
  seal::Sha256 entry_hash;
  std::string file_sha;  // of the last regular file entry finished
  uint64_t entry_pos = 0;
  uint64_t logical_size = 0;  // of the current entry, known once its content ended
  bool in_stream = false;
  uint32_t stream_index = 0;
  uint64_t stream_base = 0;
  seal::Sha256 stream_hash;
  std::optional<EntryMeta> pending;
  ContentReader content_reader;

  Result<Bytes> next_chunk() {
    if (prefetch) return prefetch->next_chunk();
    size_t n = TRY(zstd->read(MutableBytes(source_buf.data(), source_buf.size())));
    return Bytes(source_buf.data(), n);
  }

  Result<bool> read_header(EntryMeta& m) {
    if (pending) {
      m = std::move(*pending);
      pending.reset();
      return true;
    }
    return tar->next(m);
  }

  void hash_zeros(uint64_t n) {
    while (n > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, kZeroBuffer));
      entry_hash.update(Bytes(zero_bytes(), k));
      if (in_stream) stream_hash.update(Bytes(zero_bytes(), k));
      n -= k;
    }
  }

  void begin_tar_entry(const EntryMeta& m, bool record) {
    tar_meta = m;
    tar_open = true;
    record_tar_entry = record;
    entry_pos = 0;
    (void)entry_hash.finish();  // reset
    ++stats.entries;
  }

  void finish_tar_entry() {
    tar_open = false;
    std::string sha;
    if (tar_meta.type == EntryType::kFile) {
      if (entry_pos < tar_meta.size) hash_zeros(tar_meta.size - entry_pos);
      sha = seal::hex_encode(entry_hash.finish());
      file_sha = sha;
    }
    logical_size = stream_base + tar_meta.size;
    if (!record_tar_entry) return;
    computed.append(to_json(manifest_entry_for(tar_meta, sha)).dump());
    if (tar_meta.type == EntryType::kFile) {
      ++stats.files;
      stats.content_bytes += tar_meta.size;
    }
    for (auto [root, map] : {std::pair{std::string_view("volumes/"), &volumes},
                             std::pair{std::string_view("binds/"), &binds}}) {
      if (auto name = tree_name(tar_meta.path, root)) {
        TreeStats& t = (*map)[*name];
        if (tar_meta.type == EntryType::kFile) {
          ++t.files;
          t.bytes += tar_meta.size;
        }
      }
    }
  }

  Result<ContentBlock> next_block() {
    if (!has_cur || cur_done) return ContentBlock{};
    for (;;) {
      if (tar_open) {
        DataBlock b = TRY_CTX(tar->read_block(), "entry " + tar_meta.path);
        if (!b.data.empty()) {
          if (tar_meta.type != EntryType::kFile || b.offset < entry_pos || b.offset > tar_meta.size ||
              b.data.size() > tar_meta.size - b.offset) {
            return data_loss("entry " + tar_meta.path + ": data lies outside the entry's size");
          }
          hash_zeros(b.offset - entry_pos);
          entry_hash.update(b.data);
          if (in_stream) stream_hash.update(b.data);
          entry_pos = b.offset + b.data.size();
          return ContentBlock{b.data, stream_base + b.offset};
        }
        finish_tar_entry();
      }
      if (in_stream) {
        EntryMeta nm;
        bool more = TRY(read_header(nm));
        std::string logical;
        uint32_t index = 0;
        if (more && nm.type == EntryType::kFile && is_stream_part_name(nm.path, &logical, &index) &&
            logical == cur.meta.path && index == stream_index + 1) {
          stream_base += tar_meta.size;
          stream_index = index;
          begin_tar_entry(nm, true);
          continue;
        }
        if (more) pending = std::move(nm);
        streams.push_back({cur.meta.path, stream_index, stream_base + tar_meta.size,
                           seal::hex_encode(stream_hash.finish())});
        in_stream = false;
      }
      cur_done = true;
      return ContentBlock{};
    }
  }

  Status drain_current() {
    while (has_cur && !cur_done) {
      ContentBlock b = TRY(next_block());
      if (b.data.empty()) break;
    }
    return {};
  }

  Status start_entry(EntryMeta m, bool record) {
    cur = Entry{};
    std::string logical;
    uint32_t index = 0;
    if (m.type == EntryType::kFile && is_stream_part_name(m.path, &logical, &index)) {
      if (index != 1) return data_loss("entry " + m.path + ": a stream part without the parts before it");
      cur.meta = m;
      cur.meta.path = logical;
      cur.meta.size = 0;
      cur.is_stream = true;
      in_stream = true;
      stream_index = 1;
      (void)stream_hash.finish();
    } else {
      cur.meta = m;
    }
    stream_base = 0;
    logical_size = cur.is_stream ? 0 : m.size;
    begin_tar_entry(m, record);
    has_cur = true;
    cur_done = false;
    content_reader.reset();
    return {};
  }

  Status read_plan() {
    EntryMeta m;
    bool more = TRY(read_header(m));
    if (!more || m.path != kPlanPath || m.type != EntryType::kFile) {
      return data_loss(std::string("the first entry is not ") + std::string(kPlanPath) +
                       (more ? " (found " + m.path + ")" : " (the archive is empty)"));
    }
    if (m.size > kMaxPlanSize) return data_loss("plan is larger than 16 MiB");
    TRY(start_entry(m, true));
    plan_text = TRY(read_all(content_reader, kMaxPlanSize));
    TRY(drain_current());
    try {
      plan = json::parse(plan_text);
    } catch (const json::exception& e) {
      return data_loss(std::string("plan is not valid JSON: ") + e.what());
    }
    has_cur = false;
    return {};
  }

  class TeeReader final : public Reader {
   public:
    TeeReader(Reader& r, Writer* w) : r_(r), w_(w) {}
    Result<size_t> read(MutableBytes buf) override {
      size_t n = TRY(r_.read(buf));
      if (w_ && n > 0) TRY(w_->write(Bytes(buf.data(), n)));
      return n;
    }

   private:
    Reader& r_;
    Writer* w_;
  };

  Status read_manifest(const EntryMeta& m) {
    if (m.type != EntryType::kFile) return data_loss("manifest is not a regular file");
    TRY(start_entry(m, false));
    LineLog::Cursor cursor(computed);
    uint64_t index = 0;
    auto on_entry = [&](const ManifestEntry& expected) -> Status {
      auto line = TRY(cursor.next());
      if (!line) {
        return data_loss("manifest lists " + expected.path + " (entry " + std::to_string(index) +
                         ") but the archive has no more entries");
      }
      ManifestEntry actual;
      try {
        actual = TRY(manifest_entry_from_json(json::parse(*line)));
      } catch (const json::exception& e) {
        return internal_error(std::string("entry record: ") + e.what());
      }
      if (!(expected == actual)) {
        return data_loss("entry " + actual.path + " does not match the manifest: " +
                         describe_difference(expected, actual));
      }
      ++index;
      return {};
    };
    TeeReader tee(content_reader, opts.manifest_copy);
    manifest = TRY_CTX(parse_manifest(tee, on_entry), "manifest");
    TRY(drain_current());
    if (auto extra = TRY(cursor.next())) {
      std::string path = "?";
      try {
        path = json::parse(*extra).value("path", "?");
      } catch (const json::exception&) {
      }
      return data_loss("entry " + path + " is in the archive but not in the manifest");
    }
    has_cur = false;
    EntryMeta after;
    if (TRY(read_header(after))) return data_loss("entry " + after.path + " follows the manifest");
    // Read to the end of the payload so that the final segment authenticates.
    for (;;) {
      Bytes b = TRY(next_chunk());
      if (b.empty()) break;
      for (std::byte x : b) {
        if (x != std::byte{0}) return data_loss("data after the end of the tar stream");
      }
    }
    if (manifest.entry_count != computed.count() || manifest.file_count != stats.files ||
        manifest.total_bytes != stats.content_bytes) {
      return data_loss("manifest totals (" + std::to_string(manifest.entry_count) + " entries, " +
                       std::to_string(manifest.file_count) + " files, " + std::to_string(manifest.total_bytes) +
                       " bytes) do not match the archive (" + std::to_string(computed.count()) + ", " +
                       std::to_string(stats.files) + ", " + std::to_string(stats.content_bytes) + ")");
    }
    if (manifest.streams != streams) return data_loss("manifest stream records do not match the archive's parts");
    TRY(check_trees("volume", manifest.volumes, volumes));
    TRY(check_trees("bind", manifest.binds, binds));
    stats.segments = seal->segments();
    stats.sealed_bytes = seal->sealed_bytes();
    if (seal->sealed_sha256()) stats.sealed_sha256 = seal::hex_encode(*seal->sealed_sha256());
    done = true;
    return {};
  }

  static Status check_trees(const std::string& what, const std::map<std::string, json>& listed,
                            const std::map<std::string, TreeStats>& seen) {
    for (const auto& [name, t] : seen) {
      if (!listed.count(name)) return data_loss(what + " " + name + " is in the archive but not in the manifest");
    }
    for (const auto& [name, j] : listed) {
      TreeStats want;
      try {
        want.files = j.at("files").get<uint64_t>();
        want.bytes = j.at("bytes").get<uint64_t>();
      } catch (const json::exception&) {
        return data_loss("manifest: " + what + " " + name + " lacks file and byte counts");
      }
      auto it = seen.find(name);
      TreeStats got = it == seen.end() ? TreeStats{} : it->second;
      if (!(want == got)) {
        return data_loss(what + " " + name + ": manifest says " + std::to_string(want.files) + " files, " +
                         std::to_string(want.bytes) + " bytes; the archive has " + std::to_string(got.files) +
                         " files, " + std::to_string(got.bytes) + " bytes");
      }
    }
    return {};
  }

  Result<const Entry*> next() {
    TRY(drain_current());
    EntryMeta m;
    bool more = TRY(read_header(m));
    if (!more) return data_loss("the archive ends without a manifest (stacksnap/manifest.json)");
    if (m.path == kManifestPath) {
      TRY(read_manifest(m));
      return nullptr;
    }
    if (m.path == kPlanPath) return data_loss("a second plan at entry " + std::to_string(stats.entries));
    TRY(start_entry(std::move(m), true));
    return &cur;
  }

  template <class T>
  Result<T> guard(Result<T> r) {
    if (!r.ok() && !failed) failed = r.error();
    return r;
  }
};

ArchiveReader::ArchiveReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveReader::~ArchiveReader() = default;

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::open(Reader& in, const seal::KeySource& keys,
                                                           ReadOptions options) {
  auto impl = std::make_unique<Impl>(in, options);
  impl->seal = TRY(seal::SealReader::open(in, keys));
  if (!options.hash_sealed) impl->seal->skip_sealed_sha256();
  if (options.prefetch) {
    impl->sealed_prefetch = std::make_unique<codec::PrefetchReader>(*impl->seal);
    impl->zstd = TRY(codec::ZstdReader::create(*impl->sealed_prefetch));
  } else {
    impl->zstd = TRY(codec::ZstdReader::create(*impl->seal));
  }
  if (options.prefetch) {
    impl->prefetch = std::make_unique<codec::PrefetchReader>(*impl->zstd);
  } else {
    impl->source_buf.resize(kCopyBuffer);
  }
  Impl* raw = impl.get();
  impl->tar = TRY(TarReader::open([raw]() { return raw->next_chunk(); }));
  TRY(impl->read_plan());
  return std::unique_ptr<ArchiveReader>(new ArchiveReader(std::move(impl)));
}

const seal::Header& ArchiveReader::header() const { return impl_->seal->header(); }
const std::string& ArchiveReader::key_fingerprint() const { return impl_->seal->key_fingerprint(); }
const nlohmann::json& ArchiveReader::plan() const { return impl_->plan; }
const std::string& ArchiveReader::plan_text() const { return impl_->plan_text; }
const Manifest& ArchiveReader::manifest() const { return impl_->manifest; }
ReadStats ArchiveReader::stats() const { return impl_->stats; }

Result<const Entry*> ArchiveReader::next() {
  if (impl_->failed) return Error(*impl_->failed);
  if (impl_->done) return static_cast<const Entry*>(nullptr);
  return impl_->guard(impl_->next());
}

Reader& ArchiveReader::content() { return impl_->content_reader; }

Result<std::string> ArchiveReader::file_sha256() {
  if (impl_->failed) return Error(*impl_->failed);
  if (!impl_->has_cur || impl_->cur.is_stream || impl_->cur.meta.type != EntryType::kFile) {
    return failed_precondition("file_sha256: the current entry is not a regular file");
  }
  if (auto st = impl_->drain_current(); !st.ok()) {
    if (!impl_->failed) impl_->failed = st.error();
    return std::move(st).error();
  }
  return impl_->file_sha;
}

Result<ContentBlock> ArchiveReader::read_block() {
  if (impl_->failed) return Error(*impl_->failed);
  return impl_->guard(impl_->next_block());
}

Status write_subtree_as_tar(ArchiveReader& reader, std::string_view prefix_in, Writer& out) {
  auto prefix = normalize_archive_path(prefix_in);
  if (!prefix.ok() || prefix->empty()) return invalid_argument("bad subtree \"" + std::string(prefix_in) + "\"");
  auto tw = TRY(TarWriter::create(out));
  auto relative = [&](const std::string& p) -> std::optional<std::string> {
    if (p == *prefix) return std::string(".");
    if (starts_with(p, *prefix + "/")) return p.substr(prefix->size() + 1);
    return std::nullopt;
  };
  for (;;) {
    const Entry* e = TRY(reader.next());
    if (e == nullptr) break;
    auto rel = relative(e->meta.path);
    if (!rel) continue;
    if (e->is_stream) return unimplemented("stream " + e->meta.path + " cannot be re-emitted as a tar entry");
    EntryMeta m = e->meta;
    m.path = *rel;
    if (m.type == EntryType::kHardlink) {
      auto target = relative(m.link);
      if (!target) return invalid_argument("hardlink " + e->meta.path + " points outside " + *prefix);
      m.link = *target;
    }
    TRY(write_tar_entry(*tw, m, &reader.content()));
  }
  return tw->finish();
}

namespace {

// An archive file with the descriptor and reader it needs.
class FileArchiveSource final : public EntrySource {
 public:
  FileArchiveSource(UniqueFd fd, std::string path) : fd_(std::move(fd)), in_(fd_.get(), std::move(path)) {}
  Status open(const seal::KeySource& keys) {
    reader_ = TRY(ArchiveReader::open(in_, keys, {.hash_sealed = false}));
    return {};
  }
  const nlohmann::json& plan() const override { return reader_->plan(); }
  Result<const Entry*> next() override { return reader_->next(); }
  Reader& content() override { return reader_->content(); }
  Result<std::string> file_sha256() override { return reader_->file_sha256(); }
  Result<ContentBlock> read_block() override { return reader_->read_block(); }
  const Manifest& manifest() const override { return reader_->manifest(); }

 private:
  UniqueFd fd_;
  FdReader in_;
  std::unique_ptr<ArchiveReader> reader_;
};

}  // namespace

Result<std::unique_ptr<EntrySource>> open_archive_file(const std::string& path, const seal::KeySource& keys) {
  auto fd = TRY(open_file(path, O_RDONLY | O_CLOEXEC));
  auto src = std::make_unique<FileArchiveSource>(std::move(fd), path);
  TRY(src->open(keys));
  return std::unique_ptr<EntrySource>(std::move(src));
}

}  // namespace stacksnap::archive
