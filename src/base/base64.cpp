#include "base/base64.h"

#include <openssl/evp.h>

namespace stacksnap {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view value) {
  std::string in;
  for (char c : value) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') in.push_back(c);
  }
  if (in.size() % 4 != 0) return invalid_argument("not valid base64");
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return invalid_argument("not valid base64");
  size_t len = static_cast<size_t>(n);
  if (in.ends_with("==")) len -= 2;
  else if (in.ends_with("=")) len -= 1;
  out.resize(len);
  return out;
}

}  // namespace stacksnap
