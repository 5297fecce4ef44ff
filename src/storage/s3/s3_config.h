// Configuration of an S3-compatible storage target (AWS, MinIO, Backblaze B2, Wasabi, …).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace stacksnap::storage::s3 {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;
// S3's multipart limits.
inline constexpr uint64_t kMinPartSize = 5 * kMiB;   // every part but the last
inline constexpr uint64_t kMaxPartSize = 5 * kGiB;
inline constexpr uint32_t kMaxParts = 10000;
inline constexpr uint64_t kDefaultPartSize = 16 * kMiB;
inline constexpr int kDefaultParallelParts = 4;
inline constexpr int kMaxParallelParts = 64;
// S3's limit for one PutObject.
inline constexpr uint64_t kMaxSinglePut = 5 * kGiB;
// Files of known size up to this go up as one streamed PutObject (Target::put_file); see
// S3Config::multipart_threshold for why.
inline constexpr uint64_t kDefaultMultipartThreshold = 2 * kGiB;

// How the bucket is addressed. kAuto: virtual-hosted on AWS (unless the bucket name has a
// dot, which breaks TLS wildcard certificates), path-style on custom endpoints.
enum class AddressingStyle { kAuto, kPath, kVirtualHosted };

// Exponential backoff with full jitter: before attempt n+1 (n failures so far) wait
// uniform[0, min(max_delay, base_delay * 2^(n-1))]. Only Unavailable errors are retried.
struct RetryPolicy {
  int max_attempts = 6;  // tries of one request, the first included
  std::chrono::milliseconds base_delay{250};
  std::chrono::milliseconds max_delay{20'000};
};

struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  // A transfer that moves less than 1 byte/s for this long is cut and retried. Used
  // instead of a total timeout for data transfers, whose length grows with part size.
  std::chrono::milliseconds stall{30'000};
  // Total limit of requests without data (HEAD, list, initiate, complete, abort, delete).
  std::chrono::milliseconds small_request{60'000};
};

struct S3Config {
  // "https://s3.eu-central-1.amazonaws.com", "http://127.0.0.1:9000". Empty: AWS for `region`.
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";
  // Key prefix inside the bucket ("backups/host1"); a trailing '/' is added when missing.
  std::string prefix;
  AddressingStyle addressing = AddressingStyle::kAuto;
  // Never logged or printed; see credentials.h for where they come from.
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (STS credentials)
  std::string ca_file;        // optional PEM bundle; empty: the system CAs
  // Multipart: parts of max(part_size, ceil(size_hint / 9000)) rounded up to 1 MiB, growing
  // further when the size is unknown (see part_size.h). Memory used by one upload is at most
  // (parallel_parts + 1) × the current part size.
  uint64_t part_size = kDefaultPartSize;
  int parallel_parts = kDefaultParallelParts;
  // put_file() sends files of at most this many bytes as one streamed PutObject read from
  // the file (retries re-read it; the whole object's SHA-256 is signed, so the server checks
  // the blob end to end) and larger ones as a multipart upload. 0 = always multipart; at
  // most kMaxSinglePut. A single PUT needs no part buffers and no per-part hashing and
  // avoids the server's multipart assembly; it loses per-part retries (a failure re-sends
  // the whole file) and parallel streams, which matter on slow or lossy links for big
  // files. The 2 GiB default keeps a failed attempt's re-send bounded (about 3 min at
  // 100 Mbit/s) while most archives skip multipart.
  uint64_t multipart_threshold = kDefaultMultipartThreshold;
  Timeouts timeouts;
  RetryPolicy retry;
  // Tests inject these; empty: real sleep (interruptible by abort) and a random source.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<uint64_t()> random;
};

}  // namespace stacksnap::storage::s3
