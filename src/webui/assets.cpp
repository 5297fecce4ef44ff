#include "webui/assets.h"

namespace stacksnap::webui {

const Asset* find_asset(std::string_view path) {
  for (const Asset* a = assets(); a->path != nullptr; ++a) {
    if (path == a->path) return a;
  }
  return nullptr;
}

}  // namespace stacksnap::webui
