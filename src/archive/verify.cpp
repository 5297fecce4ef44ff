#include "archive/verify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <vector>

#include "archive/reader.h"
#include "codec/prefetch.h"
#include "base/fd.h"
#include "seal/crypto.h"
#include "seal/stream.h"

namespace stacksnap::archive {

namespace {

constexpr size_t kShallowBuffer = 1 << 20;

Status check_expectations(const VerifyOptions& o, uint64_t size, const std::string& sha) {
  if (o.expected_size && *o.expected_size != size) {
    return data_loss("size is " + std::to_string(size) + " bytes, the record says " + std::to_string(*o.expected_size));
  }
  if (o.expected_sha256 && *o.expected_sha256 != sha) {
    return data_loss("SHA-256 is " + sha + ", the record says " + *o.expected_sha256);
  }
  return {};
}

Result<VerifyReport> shallow(Reader& in, const VerifyOptions& o) {
  if (!o.expected_size && !o.expected_sha256) {
    return failed_precondition("a shallow verify needs a recorded size or SHA-256 (a FILE.sha256 sidecar, "
                               "--expect-sha256, or a backup ID); use a deep verify instead");
  }
  VerifyReport rep;
  seal::Sha256 h;
  std::vector<std::byte> buf(kShallowBuffer);
  std::vector<std::byte> head;
  for (;;) {
    TRY(check_cancel(o.stop, "verify"));
    size_t n = TRY(in.read(buf));
    if (n == 0) break;
    if (head.size() < seal::kHeaderSize) {
      size_t k = std::min(n, seal::kHeaderSize - head.size());
      head.insert(head.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(k));
    }
    h.update(Bytes(buf.data(), n));
    rep.sealed_bytes += n;
  }
  rep.sealed_sha256 = seal::hex_encode(h.finish());
  TRY(check_expectations(o, rep.sealed_bytes, rep.sealed_sha256));
  rep.header = TRY(seal::parse_header(head));
  const uint64_t seg = uint64_t{rep.header.segment_size} + seal::kTagSize;
  const uint64_t body = rep.sealed_bytes - seal::kHeaderSize;
  rep.segments = body == 0 ? 0 : (body + seg - 1) / seg;
  if (body < seal::kTagSize || (body % seg != 0 && body % seg < seal::kTagSize)) {
    return data_loss("file size " + std::to_string(rep.sealed_bytes) + " cannot hold whole segments");
  }
  return rep;
}

}  // namespace

std::string describe_header(const seal::Header& h) {
  std::string s = "format v" + std::to_string(h.version) + ", AES-256-GCM STREAM, segments of " +
                  human_bytes(h.segment_size) + ", key from " + std::string(seal::key_kind_name(h.key_kind));
  if (h.key_kind == seal::KeyKind::kPassphrase) {
    s += " (Argon2id t=" + std::to_string(h.argon2.opslimit) + " m=" + human_bytes(uint64_t{h.argon2.memlimit_kib} * 1024) +
         " p=" + std::to_string(h.argon2.parallelism) + ")";
  }
  return s;
}

std::string sha256_sidecar_line(const std::string& sha256_hex, const std::string& file_name) {
  return sha256_hex + "  " + file_name + "\n";
}

Result<std::string> read_sha256_sidecar(const std::string& path) {
  std::string text = TRY(read_small_file(path, 4096));
  if (text.size() < 64) return invalid_argument("sidecar " + path + " holds no SHA-256");
  std::string hex = text.substr(0, 64);
  auto raw = seal::hex_decode(hex);
  if (!raw.ok()) return invalid_argument("sidecar " + path + " holds no SHA-256");
  for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hex;
}

// The file's SHA-256 is taken on a read-ahead thread while this one authenticates the
// segments: two passes over memory side by side instead of one after the other.
static Result<VerifyReport> authenticate(Reader& in, const seal::KeySource& keys, const VerifyOptions& o) {
  NullWriter sink;
  seal::Sha256Writer hash(sink);
  TeeReader hashing(in, hash);  // runs on the read-ahead thread
  codec::PrefetchReader ahead(hashing);
  auto sr = TRY(seal::SealReader::open(ahead, keys));
  sr->skip_sealed_sha256();
  VerifyReport rep;
  rep.header = sr->header();
  rep.key_fingerprint = sr->key_fingerprint();
  for (;;) {
    TRY(check_cancel(o.stop, "verify"));
    Bytes chunk = TRY(sr->next_chunk());
    if (chunk.empty()) break;
  }
  rep.sealed_bytes = sr->sealed_bytes();
  rep.segments = sr->segments();
  rep.sealed_sha256 = seal::hex_encode(hash.finish());  // the SealReader read to the end: all of the file passed
  TRY(check_expectations(o, rep.sealed_bytes, rep.sealed_sha256));
  return rep;
}

Result<VerifyReport> verify_archive(Reader& in, const seal::KeySource* keys, const VerifyOptions& o) {
  if (o.depth == VerifyDepth::kShallow) return shallow(in, o);
  if (o.depth == VerifyDepth::kAuthenticate) {
    if (keys == nullptr) return invalid_argument("authenticating an archive needs the key");
    return authenticate(in, *keys, o);
  }
  if (keys == nullptr) return invalid_argument("a deep verify needs the key");
  auto reader = TRY(ArchiveReader::open(in, *keys));
  VerifyReport rep;
  rep.deep = true;
  rep.header = reader->header();
  rep.key_fingerprint = reader->key_fingerprint();
  rep.plan = reader->plan();
  for (;;) {
    TRY(check_cancel(o.stop, "verify"));
    const Entry* e = TRY(reader->next());
    if (e == nullptr) break;
  }
  ReadStats st = reader->stats();
  rep.sealed_bytes = st.sealed_bytes;
  rep.sealed_sha256 = st.sealed_sha256;
  rep.segments = st.segments;
  rep.entries = st.entries;
  rep.files = st.files;
  rep.content_bytes = st.content_bytes;
  rep.manifest = reader->manifest();
  TRY(check_expectations(o, rep.sealed_bytes, rep.sealed_sha256));
  return rep;
}

std::string describe_report(const std::string& archive_name, const VerifyReport& r) {
  std::string s;
  s += "archive   " + archive_name + "\n";
  s += "header    " + describe_header(r.header) + "\n";
  s += "size      " + std::to_string(r.sealed_bytes) + " bytes (" + human_bytes(r.sealed_bytes) + ") in " +
       std::to_string(r.segments) + " segments\n";
  s += "sha256    " + r.sealed_sha256 + "\n";
  if (r.deep) {
    s += "key       " + r.key_fingerprint + "\n";
    s += "entries   " + std::to_string(r.entries) + " (" + std::to_string(r.files) + " files, " +
         human_bytes(r.content_bytes) + ")\n";
    for (const auto& [svc, d] : r.manifest.dumps) {
      s += "dump      " + svc + ": " + d.value("engine", "?") + " " + d.value("version", "") + "\n";
    }
    for (const auto& [name, v] : r.manifest.volumes) {
      s += "volume    " + name + ": " + std::to_string(v.value("files", uint64_t{0})) + " files, " +
           human_bytes(v.value("bytes", uint64_t{0})) + "\n";
    }
    s += "result    OK: every segment authenticated and every entry matches the manifest\n";
  } else {
    s += "result    OK: size and SHA-256 match the record (shallow: contents not checked)\n";
  }
  return s;
}

Status verify_archive_file(const std::string& path, const seal::KeySource* keys, Writer& out,
                           const VerifyOptions& options, VerifyReport* report) {
  VerifyOptions o = options;
  if (o.depth == VerifyDepth::kShallow && !o.expected_sha256) {
    struct stat st{};
    if (::stat((path + ".sha256").c_str(), &st) == 0) o.expected_sha256 = TRY(read_sha256_sidecar(path + ".sha256"));
  }
  auto fd = TRY(open_file(path, O_RDONLY));
  FdReader in(fd.get(), path);
  auto rep = verify_archive(in, keys, o);
  if (!rep.ok()) return std::move(rep).error().with_context("verify " + path);
  std::string s = describe_report(path, *rep);
  TRY(out.write(as_bytes(s)));
  if (report) *report = std::move(*rep);
  return {};
}

}  // namespace stacksnap::archive
