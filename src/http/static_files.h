// The embedded dashboard (webui::assets()), served to GET/HEAD requests outside /api/:
//  - "/assets/…" (Vite's content-hashed names): Cache-Control "public, max-age=31536000,
//    immutable";
//  - other embedded files (favicon, …): "no-cache";
//  - a missing "/assets/…" file: 404;
//  - "/", "/index.html" and every other path (client-side routes): index.html, "no-cache";
//  - built without web/dist: a small page saying how to build the dashboard.
// HTML responses carry the dashboard's Content-Security-Policy (self only).
#pragma once

#include "http/message.h"

namespace stacksnap::http {

// The CSP sent with every response (the API's JSON included): same-origin only.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

Response serve_dashboard(const Request& req);

}  // namespace stacksnap::http
