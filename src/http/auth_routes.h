// The account routes (docs/API.md, "Authentication"):
//   GET  /api/setup            public        → {needs_setup}
//   POST /api/setup            public        {password, setup_token} → 201 {user, csrf_token, expires_at} + cookie;
//                                            403 without the setup token, 409 after the first
//   POST /api/login            public        {password} → {user, csrf_token, expires_at} + cookie; 429 + Retry-After when limited
//   GET  /api/session          user          → {user, auth: "session"|"token", csrf_token?}
//   POST /api/logout           session only  → 204, cookie cleared
//   POST /api/password         session only  {current, new, revoke_tokens = true} → 204; other sessions end,
//                                            and every API token unless revoke_tokens is false
//   GET  /api/tokens           user          → {tokens: [{id, name, prefix, created_at, last_used}]}
//   POST /api/tokens           session only  {name} → 201 {id, name, prefix, created_at, token}
//   DELETE /api/tokens/{id}    session only  → 204
#pragma once

#include "http/auth.h"
#include "http/rate_limit.h"
#include "http/router.h"

namespace stacksnap::http {

// The password routes (setup, login, password) run on the server's password pool
// (Exec::kPasswordHash) and are throttled by `limiter` per client and account.
// `auth` and `limiter` must outlive the router's use.
void register_auth_routes(Router& router, AuthService& auth, LoginRateLimiter& limiter);

}  // namespace stacksnap::http
