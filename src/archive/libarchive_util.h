// Small pieces every libarchive user in src/archive (and restore's host writer) needs.
#pragma once

#include <locale.h>
#include <sys/types.h>

#include "archive/entry.h"

namespace stacksnap::archive {

// libarchive converts header strings through the thread's locale; under a UTF-8
// locale UTF-8 names pass through unchanged. Applies to the calling thread only.
class Utf8Locale {
 public:
  Utf8Locale() {
    static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (loc != static_cast<locale_t>(nullptr)) old_ = uselocale(loc);
  }
  ~Utf8Locale() {
    if (old_ != static_cast<locale_t>(nullptr)) uselocale(old_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t old_ = static_cast<locale_t>(nullptr);
};

// libarchive's AE_IF* file type of an entry type (hardlinks are regular files that
// carry a hardlink target).
mode_t filetype_for(EntryType t);

}  // namespace stacksnap::archive
