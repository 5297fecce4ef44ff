// Long-lived requests (server-sent event streams) and the credentials they were opened
// with. A stream registers its principal; when AuthService ends those credentials —
// logout, a password change (other sessions, and API tokens when asked), token revocation
// — the registered callback runs, and the server closes the stream at once instead of at
// the client's next request.
//
// Thread-safety: all methods. Callbacks run on the revoking thread, outside the watch's
// lock; they must only schedule work (post to a strand). The watch must outlive every
// Registration.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/message.h"

namespace stacksnap::http {

class CredentialWatch {
 public:
  // Unregisters when destroyed.
  class Registration {
   public:
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    friend class CredentialWatch;
    Registration(CredentialWatch& w, uint64_t id) : watch_(w), id_(id) {}
    CredentialWatch& watch_;
    uint64_t id_;
  };

  // `ended` runs at most once, when `p`'s credentials end.
  std::unique_ptr<Registration> watch(const Principal& p, std::function<void()> ended);

  void end_session(const std::string& session_key);
  // Every session of `user` except `keep_key` (a password change keeps the caller's).
  void end_sessions_except(const std::string& user, const std::string& keep_key);
  void end_all_sessions();
  void end_token(int64_t token_id);
  void end_all_tokens();

  size_t watched() const;

 private:
  struct Entry {
    Principal principal;
    std::function<void()> ended;
  };
  void end_if(const std::function<bool(const Principal&)>& match);
  void unwatch(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> entries_;
};

}  // namespace stacksnap::http
