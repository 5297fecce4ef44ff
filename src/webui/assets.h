// The dashboard's built files, embedded at build time (cmake/embed_assets.cmake).
#pragma once

#include <cstddef>
#include <string_view>

namespace stacksnap::webui {

struct Asset {
  const char* path;          // "/index.html", "/assets/index-3f2a1c.js"
  const char* content_type;  // "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// Terminated by an entry with path == nullptr. Empty when built without web/dist.
const Asset* assets();

// The asset at `path`, or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace stacksnap::webui
