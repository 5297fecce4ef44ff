#include "http/credential_watch.h"

#include <vector>

namespace stacksnap::http {

CredentialWatch::Registration::~Registration() { watch_.unwatch(id_); }

std::unique_ptr<CredentialWatch::Registration> CredentialWatch::watch(const Principal& p,
                                                                      std::function<void()> ended) {
  std::lock_guard lk(mu_);
  uint64_t id = next_id_++;
  entries_.emplace(id, Entry{p, std::move(ended)});
  return std::unique_ptr<Registration>(new Registration(*this, id));
}

void CredentialWatch::unwatch(uint64_t id) {
  std::lock_guard lk(mu_);
  entries_.erase(id);
}

void CredentialWatch::end_if(const std::function<bool(const Principal&)>& match) {
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lk(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (match(it->second.principal)) {
        calls.push_back(std::move(it->second.ended));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : calls) {
    if (c) c();
  }
}

void CredentialWatch::end_session(const std::string& session_key) {
  end_if([&](const Principal& p) { return p.via == AuthVia::kSession && p.session_key == session_key; });
}

void CredentialWatch::end_sessions_except(const std::string& user, const std::string& keep_key) {
  end_if([&](const Principal& p) { return p.via == AuthVia::kSession && p.user == user && p.session_key != keep_key; });
}

void CredentialWatch::end_all_sessions() {
  end_if([](const Principal& p) { return p.via == AuthVia::kSession; });
}

void CredentialWatch::end_token(int64_t token_id) {
  end_if([&](const Principal& p) { return p.via == AuthVia::kToken && p.token_id == token_id; });
}

void CredentialWatch::end_all_tokens() {
  end_if([](const Principal& p) { return p.via == AuthVia::kToken; });
}

size_t CredentialWatch::watched() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

}  // namespace stacksnap::http
