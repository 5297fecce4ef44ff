// Where S3 credentials come from, field by field in this order:
//   1. flags:  --access-key, --secret-key, --session-token, --region
//   2. files:  --access-key-file, --secret-key-file, --session-token-file (one value, trailing
//              whitespace trimmed; a secret file readable by group or others is refused)
//   3. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//              AWS_REGION, then AWS_DEFAULT_REGION (region default: us-east-1)
// Secrets are never put into error messages or logs: describe() of the result names only
// where each value came from.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace stacksnap::storage::s3 {

struct CredentialFlags {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string access_key_file;
  std::string secret_key_file;
  std::string session_token_file;
  std::string region;
};

struct ResolvedCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string region;
  std::string access_key_source;  // "flag", "file /path", "environment AWS_ACCESS_KEY_ID"
  std::string secret_key_source;
  // "access key AKIA… from flag, secret key from file /root/s3.secret, region eu-west-1"
  std::string describe() const;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// getenv(3), empty values treated as unset.
std::optional<std::string> process_env(std::string_view name);

// Unauthenticated when no access key or no secret key is found anywhere; NotFound /
// PermissionDenied / FailedPrecondition for unreadable or too-open files.
Result<ResolvedCredentials> resolve_credentials(const CredentialFlags& flags, const EnvLookup& env = process_env);

// Reads one secret from a file that only its owner may read (mode & 077 == 0).
Result<std::string> read_secret_file(const std::string& path);
// Stores a secret so that only root (the owner) can read it: 0600, written atomically.
Status store_secret_file(const std::string& path, std::string_view secret);

}  // namespace stacksnap::storage::s3
