#include "http/static_files.h"

#include "webui/assets.h"

namespace stacksnap::http {
namespace {

constexpr std::string_view kNotBuiltPage = R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>StackSnap</title></head>
<body>
<h1>StackSnap</h1>
<p>The server is running, but this binary was built without the dashboard.</p>
<p>Build it with <code>make build</code> (runs <code>scripts/build-web.sh</code>, then configures CMake with
<code>-DSTACKSNAP_WEB_DIST=$PWD/web/dist</code>), or use the API directly: see <code>docs/API.md</code>.</p>
</body>
</html>
)";

Response from_asset(const webui::Asset& a, const char* cache_control) {
  Response r;
  r.content_type = a.content_type;
  r.static_body = std::string_view(reinterpret_cast<const char*>(a.data), a.size);
  r.headers.push_back({"Cache-Control", cache_control});
  return r;
}

}  // namespace

Response serve_dashboard(const Request& req) {
  if (const webui::Asset* a = webui::find_asset(req.path); a && req.path != "/index.html") {
    bool hashed = req.path.starts_with("/assets/");
    return from_asset(*a, hashed ? "public, max-age=31536000, immutable" : "no-cache");
  }
  if (req.path.starts_with("/assets/")) {
    // A hashed file this build does not have (a page from an older version): a 404, not
    // index.html, so the browser does not run HTML as a script.
    return Response::error(not_found("no such dashboard file"));
  }
  if (const webui::Asset* index = webui::find_asset("/index.html")) return from_asset(*index, "no-cache");
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.static_body = kNotBuiltPage;
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

}  // namespace stacksnap::http
