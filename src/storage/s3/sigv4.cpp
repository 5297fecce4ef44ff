#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>

namespace stacksnap::storage::s3 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces, as SigV4 asks of header values.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

KeyValues sorted_headers(const KeyValues& headers) {
  KeyValues h;
  h.reserve(headers.size());
  for (const auto& [k, v] : headers) h.emplace_back(lower(k), canonical_value(v));
  std::sort(h.begin(), h.end());
  return h;
}

std::string signed_header_list(const KeyValues& sorted) {
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += ';';
    out += k;
  }
  return out;
}

std::string scope_of(const SignRequest& r, std::string_view region, std::string_view service) {
  return std::string(r.amz_date.substr(0, 8)) + "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request";
}

}  // namespace

std::string uri_encode(std::string_view s, EncodeSlash slash) {
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && slash == EncodeSlash::kNo)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 15]);
    }
  }
  return out;
}

std::string canonical_query(const KeyValues& query) {
  KeyValues enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, EncodeSlash::kYes), uri_encode(v, EncodeSlash::kYes));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string sha256_hex(Bytes data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return hex(md, sizeof md);
}

std::string amz_date(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string canonical_request(const SignRequest& r) {
  KeyValues h = sorted_headers(r.headers);
  std::string out;
  out.reserve(512);
  out.append(r.method).append("\n");
  out.append(r.canonical_uri).append("\n");
  out.append(r.canonical_query).append("\n");
  for (const auto& [k, v] : h) out.append(k).append(":").append(v).append("\n");
  out.append("\n");
  out.append(signed_header_list(h)).append("\n");
  out.append(r.payload_hash);
  return out;
}

std::string string_to_sign(const SignRequest& r, std::string_view region, std::string_view service) {
  return "AWS4-HMAC-SHA256\n" + std::string(r.amz_date) + "\n" + scope_of(r, region, service) + "\n" +
         sha256_hex(as_bytes(canonical_request(r)));
}

std::string authorization_header(const SignRequest& r, const SigningCredentials& c, std::string_view region,
                                 std::string_view service) {
  std::string k = hmac("AWS4" + c.secret_key, r.amz_date.substr(0, 8));
  k = hmac(k, region);
  k = hmac(k, service);
  k = hmac(k, "aws4_request");
  std::string sig = hmac(k, string_to_sign(r, region, service));
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope_of(r, region, service) +
         ", SignedHeaders=" + signed_header_list(sorted_headers(r.headers)) +
         ", Signature=" + hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

}  // namespace stacksnap::storage::s3
