// Recognising SQLite databases and their companion files by name and content, and the
// `stacksnap.sqlite.exclude` label's patterns. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/stream.h"

namespace stacksnap::sqlite {

// Every SQLite 3 database file starts with these 16 bytes (the terminating NUL included).
inline constexpr std::string_view kHeader{"SQLite format 3\0", 16};
inline constexpr size_t kHeaderSize = 16;
// The smallest database file SQLite writes: one page of the smallest page size.
inline constexpr uint64_t kMinDatabaseBytes = 512;

// Service label: comma-separated patterns of databases captured as plain files.
inline constexpr std::string_view kLabelExclude = "stacksnap.sqlite.exclude";
// Service label: comma-separated patterns of databases that get a snapshot even when an
// exclude pattern names them ("exclude *, include data/app.db": only that one).
inline constexpr std::string_view kLabelInclude = "stacksnap.sqlite.include";

// True when `head` (the first bytes of a file) starts with kHeader.
bool has_header(Bytes head);

// "data/app.db" for "data/app.db-wal", "data/app.db-shm" and "data/app.db-journal";
// nullopt for any other name.
std::optional<std::string> companion_of(std::string_view path);

// The patterns of a label value: split on ',', blanks trimmed, empty ones dropped.
std::vector<std::string> parse_patterns(std::string_view label);

// fnmatch(3) without FNM_PATHNAME: '*' also matches '/', so "*cache.db" matches at any
// depth. A pattern that starts with '/' is matched against `container_paths` (where the
// services see the file), any other against `relative_path` (below the volume or bind
// root). Returns the first pattern that matches, or nullopt.
std::optional<std::string> matching_pattern(const std::vector<std::string>& patterns, std::string_view relative_path,
                                            const std::vector<std::string>& container_paths);

}  // namespace stacksnap::sqlite
