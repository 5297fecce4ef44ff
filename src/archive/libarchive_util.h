// Small pieces every libarchive user in src/archive (and restore's host writer) needs.
#pragma once

#include <locale.h>
#include <sys/types.h>

#include "archive/entry.h"

struct archive_entry;  // libarchive's

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

// Fills a cleared libarchive entry with what a tar header and the disk writer share:
// path, type (hardlinks are regular files carrying a hardlink target), permissions,
// uid/gid, mtime, link targets, device numbers and xattrs. Size, sparse map and owner
// names are the caller's.
void fill_entry(::archive_entry* e, const EntryMeta& m);

}  // namespace stacksnap::archive
