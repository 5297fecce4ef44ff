// Verification of an archive file, the work behind `stacksnap verify` (and, with a
// catalog lookup in front, `stacksnap verify ID`), and restore's "authenticate the
// whole archive before applying anything".
//
// Deep (the default): authenticate every segment, decompress, walk every entry,
// recompute each SHA-256 and compare with the manifest. Needs the key. Returns the
// report with the manifest; the first problem is the error: DataLoss naming the segment
// number and byte offset or the entry path; Unauthenticated for a wrong key/passphrase.
//
// Shallow: only the stored size and the SHA-256 of the whole file (and that the header
// parses), against expectations given in the options or read from a sidecar
// "<FILE>.sha256" (sha256sum format, as `stacksnap pack` writes). Needs no key.
// FailedPrecondition when there is nothing to compare against.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "archive/manifest.h"
#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"
#include "base/text.h"
#include "seal/header.h"
#include "seal/key.h"

namespace stacksnap::archive {

// kDeep: authenticate every segment, decompress, walk the tar, hash every entry against
// the manifest. kAuthenticate (needs the key): every segment authenticated, size and
// SHA-256 checked, nothing decompressed; proves the file is, bit for bit, what the
// sealer wrote (a backup is deep-verified when it is made), at a fraction of the cost.
// kShallow (no key): size and SHA-256 against the record only.
enum class VerifyDepth { kDeep, kShallow, kAuthenticate };

struct VerifyOptions {
  VerifyDepth depth = VerifyDepth::kDeep;
  std::optional<uint64_t> expected_size;
  std::optional<std::string> expected_sha256;  // lowercase hex
  StopToken stop;
};

struct VerifyReport {
  bool deep = false;
  seal::Header header;
  std::string key_fingerprint;  // deep and authenticate
  uint64_t sealed_bytes = 0;
  std::string sealed_sha256;
  uint64_t segments = 0;
  uint64_t entries = 0, files = 0, content_bytes = 0;  // deep only
  nlohmann::json plan;                                 // deep only
  Manifest manifest;                                   // deep only
};

// `keys` may be null for a shallow verify.
Result<VerifyReport> verify_archive(Reader& in, const seal::KeySource* keys, const VerifyOptions& options);

// Opens `path`, verifies, writes a human report to `out` (also on failure, up to the
// failure), and returns the verdict. Expectations default to the sidecar for shallow.
Status verify_archive_file(const std::string& path, const seal::KeySource* keys, Writer& out,
                           const VerifyOptions& options, VerifyReport* report = nullptr);

// The human report verify_archive_file prints ("archive   NAME", header, size, …, result).
std::string describe_report(const std::string& name, const VerifyReport& report);

// Human description of a header: version, key kind (+ Argon2id parameters), segment size.
std::string describe_header(const seal::Header& h);

// "<sha256>  <name>\n", the sidecar format; parse returns the hex digest.
std::string sha256_sidecar_line(const std::string& sha256_hex, const std::string& file_name);
Result<std::string> read_sha256_sidecar(const std::string& path);

}  // namespace stacksnap::archive
