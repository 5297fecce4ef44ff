#include "chunks/repository.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "base/fd.h"
#include "seal/crypto.h"

namespace stacksnap::chunks {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kConfigMagic = "SSRC2";
constexpr size_t kRepoIdSize = 16;
// After the id, in clear: how the master key is had (a passphrase's Argon2id parameters
// are needed before the key exists): kind (1) || opslimit (4) || memlimit KiB (4) ||
// parallelism (4) || salt (16) || zero (3), little endian; all zero but kind for a key file.
constexpr size_t kKeyBlockSize = 32;
constexpr size_t kClearSize = kConfigMagic.size() + kRepoIdSize + kKeyBlockSize;

void put_le32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_le32(const unsigned char* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }

std::string key_block(const seal::MasterKey& key) {
  std::string b;
  b.push_back(static_cast<char>(key.kind()));
  const seal::Argon2Params a = key.argon2().value_or(seal::Argon2Params{0, 0, 0, {}});
  put_le32(b, a.opslimit);
  put_le32(b, a.memlimit_kib);
  put_le32(b, a.parallelism);
  b.append(reinterpret_cast<const char*>(a.salt.data()), a.salt.size());
  b.resize(kKeyBlockSize, '\0');
  return b;
}
constexpr ChunkId kNoId{};
constexpr size_t kMaxBlob = kMaxSize + 1024;
constexpr size_t kMaxMeta = 1ull << 30;


Result<Key32> key_from_hex(const Json& j, const char* field) {
  auto raw = TRY(seal::hex_decode(j.value(field, "")));
  if (raw.size() != 32) return data_loss(std::string("repository config: bad ") + field);
  Key32 k{};
  std::memcpy(k.data(), raw.data(), 32);
  return k;
}

std::string sha256_hex(std::string_view bytes) { return seal::hex_encode(seal::Sha256::of(as_bytes(bytes))); }

// A whole object into a string of the size its listing gave (read_all would grow it by
// doubling: up to twice the object at once, a large index's peak); the rest, if any, after.
Result<std::string> read_listed(storage::Target& target, const std::string& key, uint64_t listed_size, size_t limit) {
  auto in = TRY(target.get(key));
  std::string out(static_cast<size_t>(std::min<uint64_t>(listed_size, limit)), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const size_t n = TRY(in->read(MutableBytes(reinterpret_cast<std::byte*>(out.data() + got), out.size() - got)));
    if (n == 0) break;
    got += n;
  }
  if (got < out.size()) {
    out.resize(got);
    return out;
  }
  out += TRY(read_all(*in, limit - out.size()));
  return out;
}

}  // namespace

Repository::~Repository() = default;

Result<Key32> repository_key(const seal::MasterKey& key, std::string_view repo_id_hex, std::string_view purpose) {
  const std::string salt = TRY(seal::hex_decode(repo_id_hex));
  const std::string info = "stacksnap repo v2 " + std::string(purpose);
  Key32 out{};
  TRY(seal::hkdf_sha256(key.bytes(), as_bytes(salt), as_bytes(info), seal::byte_view_mut(out.data(), out.size())));
  return out;
}

Status Repository::derive_keys(const seal::MasterKey& key) {
  data_key_ = TRY(repository_key(key, id_, "data"));
  meta_key_ = TRY(repository_key(key, id_, "meta"));
  config_key_ = TRY(repository_key(key, id_, "config"));
  return {};
}

Result<std::unique_ptr<Repository>> Repository::init(storage::Target& target, const seal::MasterKey& key) {
  if (target.stat("config").ok()) return already_exists("a repository exists at " + target.describe());
  std::unique_ptr<Repository> r(new Repository(target));
  std::array<uint8_t, kRepoIdSize> raw_id{};
  ChunkerKey chunker_key{};
  TRY(seal::random_bytes(seal::byte_view_mut(raw_id.data(), raw_id.size())));
  TRY(seal::random_bytes(seal::byte_view_mut(chunker_key.data(), chunker_key.size())));
  TRY(seal::random_bytes(seal::byte_view_mut(r->id_key_.data(), r->id_key_.size())));
  r->id_ = seal::hex_encode(raw_id);
  TRY(r->derive_keys(key));
  const Json config = {{"version", kRepoVersion},
                       {"chunker", {{"algorithm", "fastcdc"}, {"min", kMinSize}, {"normal", kNormalSize}, {"max", kMaxSize}}},
                       {"chunker_key", seal::hex_encode(chunker_key)},
                       {"id_key", seal::hex_encode(r->id_key_)}};
  std::string object(kConfigMagic);
  object.append(reinterpret_cast<const char*>(raw_id.data()), raw_id.size());
  object += key_block(key);
  auto codec = TRY(BlobCodec::create(r->config_key_));
  TRY(codec->seal(BlobType::kConfig, kNoId, as_bytes(config.dump()), object));
  TRY_CTX(storage::put_small(target, "config", object), "write the repository config");
  r->chunker_ = TRY(Chunker::create(chunker_key));
  return r;
}

Result<std::unique_ptr<Repository>> Repository::open(storage::Target& target, const seal::MasterKey& key) {
  auto object = storage::get_small(target, "config", 1 << 20);
  if (!object.ok()) {
    if (object.error().code() == Code::kNotFound) return not_found("no repository at " + target.describe());
    return std::move(object).error().with_context("read the repository config");
  }
  if (object->size() < kClearSize + kBlobOverhead ||
      object->compare(0, kConfigMagic.size(), kConfigMagic) != 0) {
    return data_loss("the repository config at " + target.describe() + " is not a StackSnap v2 config");
  }
  std::unique_ptr<Repository> r(new Repository(target));
  r->id_ = seal::hex_encode(as_bytes(object->substr(kConfigMagic.size(), kRepoIdSize)));
  TRY(r->derive_keys(key));
  auto codec = TRY(BlobCodec::create(r->config_key_));
  auto plain = codec->open(BlobType::kConfig, kNoId, as_bytes(*object).subspan(kClearSize), 1 << 20);
  if (!plain.ok()) {
    return permission_denied("the key (fingerprint " + key.fingerprint() + ") does not open the repository at " +
                             target.describe());
  }
  auto config = Json::parse(*plain, nullptr, false);
  if (config.is_discarded() || config.value("version", 0) != kRepoVersion) {
    return data_loss("repository config: version " + (config.is_discarded() ? std::string("?") : config.value("version", Json()).dump()) +
                     " is not known here");
  }
  const auto chunker_key = TRY(key_from_hex(config, "chunker_key"));
  r->id_key_ = TRY(key_from_hex(config, "id_key"));
  r->chunker_ = TRY(Chunker::create(chunker_key));
  TRY(r->load_indexes());
  return r;
}

Result<std::unique_ptr<Repository>> Repository::open(storage::Target& target, const seal::KeySource& keys) {
  return open(target, TRY(master_key(target, keys)));
}

Result<seal::MasterKey> Repository::master_key(storage::Target& target, const seal::KeySource& keys) {
  auto object = storage::get_small(target, "config", 1 << 20);
  if (!object.ok()) {
    if (object.error().code() == Code::kNotFound) return not_found("no repository at " + target.describe());
    return std::move(object).error().with_context("read the repository config");
  }
  if (object->size() < kClearSize + kBlobOverhead || object->compare(0, kConfigMagic.size(), kConfigMagic) != 0) {
    return data_loss("the repository config at " + target.describe() + " is not a StackSnap v2 config");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(object->data()) + kConfigMagic.size() + kRepoIdSize;
  const auto kind = static_cast<seal::KeyKind>(p[0]);
  if (kind != seal::KeyKind::kKeyFile && kind != seal::KeyKind::kPassphrase) {
    return data_loss("the repository config at " + target.describe() + " names an unknown key kind");
  }
  seal::Argon2Params params{get_le32(p + 1), get_le32(p + 5), get_le32(p + 9), {}};
  std::memcpy(params.salt.data(), p + 13, params.salt.size());
  if (kind == seal::KeyKind::kPassphrase) TRY_CTX(seal::check_argon2_params(params), "repository config");
  return TRY_CTX(keys.key_for(kind, kind == seal::KeyKind::kPassphrase ? &params : nullptr),
                 "the repository at " + target.describe());
}

Status Repository::load_indexes() {
  std::vector<storage::ObjectInfo> listed;
  TRY(target_.list("index/", [&](const storage::ObjectInfo& o) -> Status {
    listed.push_back(o);
    return {};
  }));
  for (const auto& o : listed) {
    const std::string& name = o.key;
    // A damaged (or vanished) index file is skipped and reported, not fatal: the chunks only
    // it names are unknown here (a backup stores them again; a snapshot that needs them
    // fails to read them, naming them). Garbage collection reads the indexes itself and
    // refuses to run past a damaged one.
    auto damaged = [&](const Error& e) { damaged_indexes_.push_back(name + ": " + e.message()); };
    auto sealed = read_listed(target_, name, o.size, kMaxMeta);
    if (!sealed.ok()) {
      if (sealed.error().code() != Code::kDataLoss && sealed.error().code() != Code::kNotFound) {
        return std::move(sealed).error().with_context("read " + name);
      }
      damaged(sealed.error());
      continue;
    }
    if (name.substr(name.rfind('/') + 1) != sha256_hex(*sealed)) {
      damaged(data_loss("content does not match its name"));
      continue;
    }
    // Its own codec: the sealed bytes and the codec's buffers go before the entries are read.
    auto idx = Index::open(meta_key_, std::move(*sealed));
    if (!idx.ok()) {
      if (idx.error().code() != Code::kDataLoss) return std::move(idx).error().with_context(name);
      damaged(idx.error());
      continue;
    }
    std::lock_guard lock(mu_);
    index_.merge(std::move(*idx));
  }
  return {};
}

void Repository::learn(const Index& written) {
  std::lock_guard lock(mu_);
  index_.merge(written);
}

size_t Repository::index_memory_bytes() const {
  std::lock_guard lock(mu_);
  return index_.memory_bytes();
}

size_t Repository::known_blobs() const {
  std::lock_guard lock(mu_);
  return index_.blobs();
}

bool Repository::has(const ChunkId& id) const {
  std::lock_guard lock(mu_);
  return index_.contains(id);
}

Result<std::string> Repository::read(BlobType type, const ChunkId& id) const {
  Location at;
  {
    std::lock_guard lock(mu_);
    const FoundLocation l = index_.find(id);
    if (!l) return not_found("chunk " + to_hex(id) + " is in no index of the repository");
    at = *l;
  }
  const std::string pack = pack_name(at.pack);
  auto in = TRY_CTX(target_.get(pack, {.offset = at.offset, .length = at.length}), "read " + pack);
  const std::string sealed = TRY_CTX(read_all(*in, at.length + 1), "read " + pack);
  if (sealed.size() != at.length) return data_loss(pack + ": shorter than its index says");
  auto codec = TRY(BlobCodec::create(data_key_));
  // Entry lists may run past a chunk's size (a list is cut at 4 MiB, plus one line).
  auto plain = TRY_CTX(codec->open(type, id, as_bytes(sealed), type == BlobType::kTree ? (16u << 20) : kMaxBlob), pack);
  if (plain.size() != at.raw_length) return data_loss(pack + ": chunk " + to_hex(id) + " has another length than indexed");
  return plain;
}

Result<std::unique_ptr<SnapshotWriter>> Repository::write_snapshot(const WriteOptions& options) {
  auto codec = TRY(BlobCodec::create(data_key_));
  return std::unique_ptr<SnapshotWriter>(new SnapshotWriter(*this, std::move(codec), options));
}

Result<SnapshotInfo> Repository::snapshot(const std::string& id) const {
  if (id.size() != 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return invalid_argument("not a snapshot id: " + id);
  }
  const std::string name = "snapshots/" + id;
  const std::string sealed = TRY_CTX(storage::get_small(target_, name, kMaxMeta), "read " + name);
  if (id != sha256_hex(sealed)) return data_loss(name + ": content does not match its name");
  auto codec = TRY(BlobCodec::create(meta_key_));
  const std::string plain = TRY_CTX(codec->open(BlobType::kSnapshot, kNoId, as_bytes(sealed), kMaxMeta), name);
  auto doc = Json::parse(plain, nullptr, false);
  if (doc.is_discarded()) return data_loss(name + ": not JSON");
  return SnapshotInfo{id, std::move(doc)};
}

Result<std::vector<SnapshotInfo>> Repository::snapshots() const {
  std::vector<std::string> ids;
  TRY(target_.list("snapshots/", [&](const storage::ObjectInfo& o) -> Status {
    ids.push_back(o.key.substr(o.key.rfind('/') + 1));
    return {};
  }));
  std::vector<SnapshotInfo> out;
  for (const auto& id : ids) out.push_back(TRY(snapshot(id)));
  return out;
}

// ---- SnapshotWriter ----------------------------------------------------------------------

// ---- parallel sealing ------------------------------------------------------------------

// Bytes kept from use to use: grows (contents kept, nothing zeroed), never shrinks. The
// batches and packs of a writer are recycled, so after the first few MiB a backup
// allocates nothing per chunk (per-chunk buffers of up to 8 MiB left glibc's arenas
// holding tens of MiB of freed memory).
struct ByteBuffer {
  std::unique_ptr<unsigned char[]> data;
  size_t size = 0, capacity = 0;
  void reserve(size_t n) {
    if (n <= capacity) return;
    const size_t c = std::max(n, capacity + capacity / 2);
    auto d = std::make_unique_for_overwrite<unsigned char[]>(c);
    if (size != 0) std::memcpy(d.get(), data.get(), size);
    data = std::move(d);
    capacity = c;
  }
  void append(Bytes b) {
    reserve(size + b.size());
    std::memcpy(data.get() + size, b.data(), b.size());
    size += b.size();
  }
};

struct SealJob {
  BlobType type = BlobType::kData;
  ChunkId id{};
  uint32_t raw_length = 0;
  size_t plain_at = 0;   // in the batch's plain buffer
  size_t sealed_at = 0;  // in its sealed buffer (room for raw_length + kBlobOverhead)
  size_t sealed_length = 0;
  Status status;
};

struct SealBatch {
  std::vector<SealJob> jobs;
  ByteBuffer plain, sealed;
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  void reset() {
    jobs.clear();
    plain.size = sealed.size = 0;
    done = 0;
  }
};

// Worker threads, each with its own BlobCodec, sealing the jobs of submitted batches.
struct SealPipeline {
  static constexpr size_t kBatchBytes = 1u << 20;  // a batch is dispatched at this size
  static constexpr size_t kInFlight = 1;           // batches sealed while the caller chunks on

  SealPipeline(const Key32& key, size_t threads) {
    for (size_t i = 0; i < threads; ++i) workers.emplace_back([this, key] { run(key); });
  }
  ~SealPipeline() {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
  }
  void submit(const std::shared_ptr<SealBatch>& b) {
    {
      std::lock_guard lock(mu);
      for (size_t i = 0; i < b->jobs.size(); ++i) tasks.emplace_back(b, i);
    }
    cv.notify_all();
  }
  static void wait(SealBatch& b) {
    std::unique_lock lock(b.mu);
    b.cv.wait(lock, [&] { return b.done == b.jobs.size(); });
  }
  std::shared_ptr<SealBatch> fresh() {
    if (spare.empty()) return std::make_shared<SealBatch>();
    auto b = std::move(spare.back());
    spare.pop_back();
    return b;
  }
  void run(const Key32& key) {
    auto codec = BlobCodec::create(key);
    for (;;) {
      std::pair<std::shared_ptr<SealBatch>, size_t> task;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !tasks.empty(); });
        if (tasks.empty()) return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      SealBatch& b = *task.first;
      SealJob& j = b.jobs[task.second];
      if (!codec.ok()) {
        j.status = codec.error();
      } else {
        auto n = (*codec)->seal_into(j.type, j.id, Bytes(reinterpret_cast<const std::byte*>(b.plain.data.get() + j.plain_at), j.raw_length),
                                     b.sealed.data.get() + j.sealed_at);
        if (n.ok()) {
          j.sealed_length = *n;
        } else {
          j.status = std::move(n).error();
        }
      }
      std::lock_guard lock(b.mu);
      if (++b.done == b.jobs.size()) b.cv.notify_all();
    }
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::shared_ptr<SealBatch>, size_t>> tasks;
  bool stop = false;
  std::vector<std::thread> workers;
  std::shared_ptr<SealBatch> gathering = std::make_shared<SealBatch>();
  std::deque<std::shared_ptr<SealBatch>> in_flight;
  std::vector<std::shared_ptr<SealBatch>> spare;  // consumed batches, their buffers kept
};

// ---- uploading packs -------------------------------------------------------------------

// A pack put together in an unnamed file (WriteOptions::spool_dir): sealed blobs, then the
// header. Reused from pack to pack (truncated once uploaded).
struct SpoolPack {
  UniqueFd fd;
  uint64_t size = 0;
  std::vector<PackEntry> entries;
};

// One thread that names a finished pack (its SHA-256), uploads it, reads it back into the
// same buffer and checks it (its header lists what was written, every blob authenticates
// and decodes to its length), while the writer fills the next pack. One pack at a time:
// the writer collects the result before it hands over the next.
struct PackUploader {
  struct Result_ {
    PackId id{};
    std::vector<PackEntry> entries;
    std::string bytes;                 // the buffer, for the next pack
    std::unique_ptr<SpoolPack> spool;  // or the spool file, for the next pack
    uint64_t size = 0;
    Status status;
  };

  PackUploader(storage::Target& target, std::unique_ptr<BlobCodec> codec)
      : target_(target), codec_(std::move(codec)), thread_([this] { run(); }) {}
  ~PackUploader() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool busy() const { return busy_; }  // the writer's thread only
  void start(FinishedPack pack) {
    {
      std::lock_guard lock(mu_);
      job_ = std::move(pack);
      busy_ = true;
    }
    cv_.notify_all();
  }
  void start(std::unique_ptr<SpoolPack> pack) {
    {
      std::lock_guard lock(mu_);
      spool_job_ = std::move(pack);
      busy_ = true;
    }
    cv_.notify_all();
  }
  Result_ wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return result_.has_value(); });
    Result_ r = std::move(*result_);
    result_.reset();
    busy_ = false;
    return r;
  }

 private:
  void run() {
    for (;;) {
      FinishedPack pack;
      Result_ r;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || job_.has_value() || spool_job_ != nullptr; });
        if (stop_) return;  // a pack handed over but not started is garbage now: not uploaded
        if (job_) {
          pack = std::move(*job_);
          job_.reset();
        } else {
          r.spool = std::move(spool_job_);
        }
      }
      if (r.spool) {
        r.entries = r.spool->entries;
        r.status = upload_and_check_spool(r);
      } else {
        r.entries = std::move(pack.entries);
        r.bytes = std::move(pack.bytes);
        r.status = upload_and_check(r);
      }
      {
        std::lock_guard lock(mu_);
        result_ = std::move(r);
      }
      cv_.notify_all();
    }
  }
  Status upload_and_check(Result_& r) {
    r.id = seal::Sha256::of(as_bytes(r.bytes));
    r.size = r.bytes.size();
    const std::string name = pack_name(r.id);
    TRY_CTX(storage::put_small(target_, name, r.bytes), "upload " + name);
    // Read back over the bytes just uploaded: only what the target returns is checked.
    auto in = TRY_CTX(target_.get(name), "read back " + name);
    size_t got = 0;
    while (got < r.bytes.size()) {
      const size_t n = TRY_CTX(in->read(MutableBytes(reinterpret_cast<std::byte*>(r.bytes.data() + got), r.bytes.size() - got)),
                               "read back " + name);
      if (n == 0) break;
      got += n;
    }
    std::byte extra[1];
    if (got != r.bytes.size() || TRY_CTX(in->read(MutableBytes(extra, 1)), "read back " + name) != 0) {
      return data_loss("pack " + name + ": the target returned " + (got != r.bytes.size() ? "fewer" : "more") +
                       " bytes than were uploaded");
    }
    auto header = TRY_CTX(read_pack_header(*codec_, as_bytes(r.bytes), r.bytes.size()), "pack " + name);
    if (header != r.entries) return data_loss("pack " + name + ": its header does not list what was written");
    const MutableBytes bytes(reinterpret_cast<std::byte*>(r.bytes.data()), r.bytes.size());
    for (const auto& e : r.entries) {
      if (e.offset + e.length > bytes.size()) return data_loss("pack " + name + ": a blob lies beyond its end");
      TRY_CTX(codec_->check(e.type, e.id, bytes.subspan(e.offset, e.length), e.raw_length),
              "pack " + name + ", blob " + to_hex(e.id));
    }
    return {};
  }

  // The spool file named (its SHA-256, read in slices), stored (from the file: in the
  // kernel to a local target), then read back from the target blob by blob in slices.
  Status upload_and_check_spool(Result_& r) {
    SpoolPack& p = *r.spool;
    r.size = p.size;
    slice_.resize(1u << 20);
    seal::Sha256 hash;
    for (uint64_t off = 0; off < p.size;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(slice_.size(), p.size - off));
      const ssize_t n = ::pread(p.fd.get(), slice_.data(), want, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read the spooled pack", errno);
      if (n == 0) return data_loss("the spooled pack ends at " + std::to_string(off) + " of " + std::to_string(p.size) + " bytes");
      hash.update(Bytes(slice_.data(), static_cast<size_t>(n)));
      off += static_cast<uint64_t>(n);
    }
    r.id = hash.finish();
    const std::string name = pack_name(r.id);
    TRY_CTX(target_.put_file(name, p.fd.get(), p.size, {.sha256 = seal::hex_encode(r.id)}), "upload " + name);
    auto in = TRY_CTX(target_.get(name), "read back " + name);
    uint64_t at = 0;
    for (const auto& e : p.entries) {
      if (e.offset != at) return internal_error("spooled pack " + name + ": blobs not one after another");
      TRY_CTX(codec_->check_stream(e.type, e.id, *in, e.length, e.raw_length), "pack " + name + ", blob " + to_hex(e.id));
      at += e.length;
    }
    // The header and its length: the rest, exactly.
    const uint64_t rest = p.size - at;
    if (rest > (64u << 20)) return data_loss("pack " + name + ": header too large");
    std::string tail(static_cast<size_t>(rest) + 1, '\0');
    size_t got = 0;
    for (;;) {
      const size_t n = TRY_CTX(in->read(MutableBytes(reinterpret_cast<std::byte*>(tail.data() + got), tail.size() - got)),
                               "read back " + name);
      if (n == 0) break;
      got += n;
      if (got == tail.size()) break;
    }
    if (got != rest) {
      return data_loss("pack " + name + ": the target returned " + (got < rest ? "fewer" : "more") + " bytes than were uploaded");
    }
    tail.resize(got);
    auto header = TRY_CTX(read_pack_header(*codec_, as_bytes(tail), p.size), "pack " + name);
    if (header != p.entries) return data_loss("pack " + name + ": its header does not list what was written");
    return {};
  }

  storage::Target& target_;
  std::unique_ptr<BlobCodec> codec_;
  std::vector<std::byte> slice_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<SpoolPack> spool_job_;
  std::optional<FinishedPack> job_;
  std::optional<Result_> result_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: started once everything it uses exists
};

// ---- SnapshotWriter ----------------------------------------------------------------------

SnapshotWriter::SnapshotWriter(Repository& repo, std::unique_ptr<BlobCodec> codec, WriteOptions options)
    : repo_(repo), codec_(std::move(codec)), pack_(*codec_), options_(std::move(options)) {}

SnapshotWriter::~SnapshotWriter() {
  seal_.reset();      // workers joined
  uploader_.reset();  // the pack in hand finished (uploaded or failed), thread joined
}

Status SnapshotWriter::sticky(Status st) {
  if (!st.ok() && failed_.ok()) failed_ = st;
  return st;
}

Result<ChunkId> SnapshotWriter::add(BlobType type, Bytes plaintext) {
  if (!failed_.ok()) return failed_.error();
  const ChunkId id = repo_.id_of(plaintext);
  ++stats_.chunks;
  stats_.bytes += plaintext.size();
  if (pending_.count(id) || written_.contains(id) || repo_.has(id)) return id;
  if (plaintext.size() > UINT32_MAX / 2) return invalid_argument("blob too large for a pack");
  if (!seal_) {
    const size_t cores = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    seal_ = std::make_unique<SealPipeline>(repo_.data_key_, cores);
  }
  pending_.emplace(id, true);
  ++stats_.new_chunks;
  stats_.new_bytes += plaintext.size();
  SealBatch& b = *seal_->gathering;
  b.jobs.push_back({.type = type, .id = id, .raw_length = static_cast<uint32_t>(plaintext.size()), .plain_at = b.plain.size});
  b.plain.append(plaintext);
  if (b.plain.size >= SealPipeline::kBatchBytes) TRY(sticky(dispatch()));
  return id;
}

Status SnapshotWriter::dispatch() {
  if (!seal_ || seal_->gathering->jobs.empty()) return {};
  auto batch = std::move(seal_->gathering);
  // Each job's room in the sealed buffer: its plaintext and the blob's overhead.
  size_t at = 0;
  for (auto& j : batch->jobs) {
    j.sealed_at = at;
    at += j.raw_length + kBlobOverhead;
  }
  batch->sealed.reserve(at);
  batch->sealed.size = at;
  seal_->submit(batch);
  seal_->in_flight.push_back(std::move(batch));
  // The oldest batch is taken before a batch to gather into is picked: the one taken is
  // that batch (two batches in all, one sealing while the other gathers).
  Status st;
  while (st.ok() && seal_->in_flight.size() > SealPipeline::kInFlight) st = take_oldest();
  seal_->gathering = seal_->fresh();
  return st;
}

Status SnapshotWriter::take_oldest() {
  auto batch = std::move(seal_->in_flight.front());
  seal_->in_flight.pop_front();
  SealPipeline::wait(*batch);
  for (auto& j : batch->jobs) {
    TRY(j.status);
    const Bytes sealed(reinterpret_cast<const std::byte*>(batch->sealed.data.get() + j.sealed_at), j.sealed_length);
    TRY(add_to_pack(j.type, j.id, sealed, j.raw_length));
  }
  batch->reset();
  seal_->spare.push_back(std::move(batch));
  return {};
}

Status SnapshotWriter::drain() {
  TRY(dispatch());
  while (seal_ && !seal_->in_flight.empty()) TRY(take_oldest());
  return collect_upload();
}

Result<std::vector<ChunkId>> SnapshotWriter::add_stream(Reader& in) {
  ChunkReader chunks(repo_.chunker(), in, &chunk_buffer_);
  std::vector<ChunkId> ids;
  for (;;) {
    const Bytes chunk = TRY(chunks.next());
    if (chunk.empty()) break;
    ids.push_back(TRY(add(BlobType::kData, chunk)));
  }
  return ids;
}

Status SnapshotWriter::add_to_pack(BlobType type, const ChunkId& id, Bytes sealed, uint32_t raw_length) {
  if (options_.spool_dir.empty()) {
    if (!pack_.fits(sealed.size())) TRY(flush_pack());
    TRY(pack_.add_sealed(type, id, sealed, raw_length));
    if (pack_.full()) TRY(flush_pack());
    return {};
  }
  if (spool_ && !spool_->entries.empty() &&
      (spool_->size + sealed.size() > kPackTarget || spool_->entries.size() >= kPackMaxEntries)) {
    TRY(flush_pack());
  }
  if (!spool_) {
    if (!spool_spare_.empty()) {
      spool_ = std::move(spool_spare_.back());
      spool_spare_.pop_back();
    } else {
      auto p = std::make_unique<SpoolPack>();
      std::string named;
      p->fd = TRY_CTX(create_scratch_file(options_.spool_dir, options_.spool_dir + "/.pack-XXXXXX", 0600, &named),
                      "create a pack spool file in " + options_.spool_dir);
      if (!named.empty()) ::unlink(named.c_str());  // the descriptor is all that is needed
      spool_ = std::move(p);
    }
  }
  if (sealed.size() > UINT32_MAX / 2) return invalid_argument("blob too large for a pack");
  if (type != BlobType::kData && type != BlobType::kTree) return invalid_argument("packs hold data and tree blobs only");
  SpoolPack& p = *spool_;
  PackEntry e{.type = type, .id = id, .offset = p.size, .length = static_cast<uint32_t>(sealed.size()), .raw_length = raw_length};
  FdWriter out(p.fd.get(), "pack spool");
  TRY(out.write(sealed));
  p.size += sealed.size();
  p.entries.push_back(e);
  if (p.size >= kPackTarget) TRY(flush_pack());  // as full() for packs in memory
  return {};
}

Status SnapshotWriter::flush_pack() {
  const bool spooling = !options_.spool_dir.empty();
  if (spooling ? (!spool_ || spool_->entries.empty()) : pack_.count() == 0) return {};
  TRY(collect_upload());
  if (!uploader_) {
    auto codec = TRY(BlobCodec::create(repo_.data_key_));
    uploader_ = std::make_unique<PackUploader>(repo_.target(), std::move(codec));
  }
  if (spooling) {
    std::string tail;
    TRY(append_pack_header(*codec_, spool_->entries, tail));
    FdWriter out(spool_->fd.get(), "pack spool");
    TRY(out.write(as_bytes(tail)));
    spool_->size += tail.size();
    uploader_->start(std::move(spool_));
    return {};
  }
  auto pack = TRY(pack_.take());
  uploader_->start(std::move(pack));
  return {};
}

Status SnapshotWriter::collect_upload() {
  if (!uploader_ || !uploader_->busy()) return {};
  auto r = uploader_->wait();
  if (!r.status.ok()) return std::move(r.status).error().with_context("the read-back of what this backup stored");
  stats_.uploaded_bytes += r.size;
  ++stats_.packs;
  written_.add_pack(r.id, r.entries);
  for (const auto& e : r.entries) pending_.erase(e.id);  // known through written_ now
  if (r.spool) {
    // Emptied at once: pages of a truncated file are dropped, never written to the disk.
    if (::ftruncate(r.spool->fd.get(), 0) != 0) return errno_error("empty the pack spool", errno);
    if (::lseek(r.spool->fd.get(), 0, SEEK_SET) != 0) return errno_error("rewind the pack spool", errno);
    r.spool->size = 0;
    r.spool->entries.clear();
    spool_spare_.push_back(std::move(r.spool));
  } else {
    pack_.recycle(std::move(r.bytes));
  }
  return {};
}

Status SnapshotWriter::settle() {
  if (!failed_.ok()) return failed_;
  return sticky(drain());
}

Status SnapshotWriter::verify_uploaded(const StopToken& stop) {
  if (!failed_.ok()) return failed_;
  TRY(check_cancel(stop, "verify the stored packs"));
  TRY(sticky(drain()));
  TRY(sticky(flush_pack()));
  TRY(sticky(collect_upload()));
  return check_cancel(stop, "verify the stored packs");
}

Result<SnapshotInfo> SnapshotWriter::commit(const nlohmann::json& snapshot) {
  if (committed_) return failed_precondition("snapshot already committed");
  if (!failed_.ok()) return failed_.error();
  TRY(sticky(drain()));
  TRY(sticky(flush_pack()));
  TRY(sticky(collect_upload()));
  auto meta = TRY(BlobCodec::create(repo_.meta_key_));
  if (!written_.packs().empty()) {
    const std::string sealed = TRY(written_.seal(*meta));
    TRY_CTX(storage::put_small(repo_.target(), "index/" + sha256_hex(sealed), sealed), "upload the index");
    stats_.uploaded_bytes += sealed.size();
  }
  std::string sealed;
  std::string text;
  try {
    text = snapshot.dump();
  } catch (const std::exception& e) {
    return internal_error(std::string("snapshot document: ") + e.what());
  }
  TRY(meta->seal(BlobType::kSnapshot, kNoId, as_bytes(text), sealed));
  const std::string id = sha256_hex(sealed);
  TRY_CTX(storage::put_small(repo_.target(), "snapshots/" + id, sealed), "upload the snapshot");
  stats_.uploaded_bytes += sealed.size();
  repo_.learn(written_);
  committed_ = true;
  return SnapshotInfo{id, snapshot};
}

Status read_stream(const Repository& repo, const std::vector<ChunkId>& ids, Writer& out) {
  for (const auto& id : ids) {
    const std::string chunk = TRY(repo.read(BlobType::kData, id));
    TRY(out.write(as_bytes(chunk)));
  }
  return {};
}

}  // namespace stacksnap::chunks
