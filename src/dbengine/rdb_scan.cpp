#include "dbengine/rdb_scan.h"

#include <algorithm>
#include <cstring>

namespace stacksnap::dbengine {

namespace {
// Opcodes and value types of rdb.h (Redis 7.4, Valkey 8).
enum : uint8_t {
  kOpSlotInfo = 0xF4,
  kOpFunction2 = 0xF5,
  kOpFunctionPreGa = 0xF6,
  kOpModuleAux = 0xF7,
  kOpIdle = 0xF8,
  kOpFreq = 0xF9,
  kOpAux = 0xFA,
  kOpResizeDb = 0xFB,
  kOpExpireMs = 0xFC,
  kOpExpireSec = 0xFD,
  kOpSelectDb = 0xFE,
  kOpEof = 0xFF,
};
enum : uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZset = 3,
  kTypeHash = 4,
  kTypeZset2 = 5,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZsetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZsetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
  kTypeSetListpack = 20,
  kTypeStreamListpacks3 = 21,
};
// Module value opcodes (RDB_MODULE_OPCODE_*).
enum : uint64_t { kModEof = 0, kModSint = 1, kModUint = 2, kModFloat = 3, kModDouble = 4, kModString = 5 };
constexpr size_t kStreamIdBytes = 16;
constexpr size_t kMillisecondTime = 8;
}  // namespace

RdbScanner::RdbScanner() : thread_([this] { run(); }) {}

RdbScanner::~RdbScanner() { finish(); }

Status RdbScanner::write(Bytes data) {
  std::unique_lock l(mu_);
  if (walk_done_ || data.empty()) return {};
  cur_ = data.data();
  left_ = data.size();
  has_chunk_ = true;
  cv_.notify_all();
  cv_.wait(l, [&] { return !has_chunk_ || walk_done_; });
  has_chunk_ = false;
  cur_ = nullptr;
  left_ = 0;
  return {};
}

void RdbScanner::finish() {
  if (finished_) return;
  {
    std::lock_guard l(mu_);
    eof_ = true;
  }
  cv_.notify_all();
  thread_.join();
  finished_ = true;
}

void RdbScanner::run() {
  try {
    walk();
  } catch (const Stop&) {
  }
  std::lock_guard l(mu_);
  walk_done_ = true;
  cv_.notify_all();
}

void RdbScanner::stop(std::string why) {
  if (problem_.empty()) problem_ = std::move(why);
  throw Stop{};
}

uint8_t RdbScanner::byte() {
  uint8_t b;
  read(&b, 1);
  return b;
}

void RdbScanner::read(void* dst, size_t n) {
  auto* out = static_cast<std::byte*>(dst);
  while (n > 0) {
    if (left_ == 0) next_chunk();
    const size_t k = std::min(n, left_);
    std::memcpy(out, cur_, k);
    out += k;
    cur_ += k;
    left_ -= k;
    n -= k;
  }
}

void RdbScanner::skip(uint64_t n) {
  for (;;) {
    const uint64_t k = std::min<uint64_t>(n, left_);
    cur_ += k;
    left_ -= k;
    n -= k;
    if (n == 0) return;
    next_chunk();
  }
}

void RdbScanner::next_chunk() {
  std::unique_lock l(mu_);
  if (has_chunk_) {  // used up: the writer may go on
    has_chunk_ = false;
    cur_ = nullptr;
    cv_.notify_all();
  }
  cv_.wait(l, [&] { return has_chunk_ || eof_; });
  if (!has_chunk_) stop("the RDB stream ended before its EOF opcode");
}

uint64_t RdbScanner::length(bool* special) {
  const uint8_t c = byte();
  if (special) *special = false;
  switch (c >> 6) {
    case 0: return c & 0x3F;
    case 1: return (static_cast<uint64_t>(c & 0x3F) << 8) | byte();
    case 2: {
      if (c != 0x80 && c != 0x81) stop("malformed length");
      uint8_t b[8];
      const size_t n = c == 0x80 ? 4 : 8;
      read(b, n);
      uint64_t v = 0;
      for (size_t i = 0; i < n; ++i) v = (v << 8) | b[i];
      return v;
    }
    default:
      if (!special) stop("an encoded value where a length belongs");
      *special = true;
      return c & 0x3F;
  }
}

void RdbScanner::skip_string() {
  bool special = false;
  const uint64_t n = length(&special);
  if (!special) return skip(n);
  switch (n) {
    case 0: return skip(1);  // int8
    case 1: return skip(2);  // int16
    case 2: return skip(4);  // int32
    case 3: {                // LZF: compressed length, plain length, data
      const uint64_t compressed = length();
      (void)length();
      return skip(compressed);
    }
    default: stop("unknown string encoding " + std::to_string(n));
  }
}

void RdbScanner::skip_module_value() {
  for (;;) {
    switch (length()) {
      case kModEof: return;
      case kModSint:
      case kModUint: (void)length(); break;
      case kModFloat: skip(4); break;
      case kModDouble: skip(8); break;
      case kModString: skip_string(); break;
      default: stop("unknown module value opcode");
    }
  }
}

void RdbScanner::skip_stream(uint8_t type) {
  const bool v2 = type >= kTypeStreamListpacks2, v3 = type >= kTypeStreamListpacks3;
  for (uint64_t n = length(); n > 0; --n) {
    skip_string();  // node key
    skip_string();  // listpack
  }
  for (int i = 0; i < (v2 ? 8 : 3); ++i) (void)length();  // length, last id [, first id, max deleted id, entries added]
  for (uint64_t groups = length(); groups > 0; --groups) {
    skip_string();  // name
    for (int i = 0; i < (v2 ? 3 : 2); ++i) (void)length();  // last id [, entries read]
    for (uint64_t pel = length(); pel > 0; --pel) {
      skip(kStreamIdBytes + kMillisecondTime);  // id, delivery time
      (void)length();                           // delivery count
    }
    for (uint64_t consumers = length(); consumers > 0; --consumers) {
      skip_string();  // name
      skip(kMillisecondTime * (v3 ? 2 : 1));  // seen time [, active time]
      skip(kStreamIdBytes * length());        // its pending entries
    }
  }
}

void RdbScanner::skip_value(uint8_t type) {
  switch (type) {
    case kTypeString:
    case kTypeHashZipmap:
    case kTypeListZiplist:
    case kTypeSetIntset:
    case kTypeZsetZiplist:
    case kTypeHashZiplist:
    case kTypeHashListpack:
    case kTypeZsetListpack:
    case kTypeSetListpack: return skip_string();
    case kTypeList:
    case kTypeSet:
    case kTypeListQuicklist:
      for (uint64_t n = length(); n > 0; --n) skip_string();
      return;
    case kTypeZset:
      for (uint64_t n = length(); n > 0; --n) {
        skip_string();
        const uint8_t len = byte();  // a score as text; 253..255 are nan, +inf, -inf
        if (len < 253) skip(len);
      }
      return;
    case kTypeHash:
      for (uint64_t n = length(); n > 0; --n) {
        skip_string();
        skip_string();
      }
      return;
    case kTypeZset2:
      for (uint64_t n = length(); n > 0; --n) {
        skip_string();
        skip(8);
      }
      return;
    case kTypeListQuicklist2:
      for (uint64_t n = length(); n > 0; --n) {
        (void)length();  // container kind
        skip_string();
      }
      return;
    case kTypeModule2:
      (void)length();  // module id
      return skip_module_value();
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
    case kTypeStreamListpacks3: return skip_stream(type);
    default: stop("value type " + std::to_string(type) + " is not known to this walker");
  }
}

void RdbScanner::walk() {
  char head[9];
  read(head, sizeof head);
  magic_ok_ = std::memcmp(head, "REDIS", 5) == 0 || std::memcmp(head, "VALKEY", 6) == 0;
  if (!magic_ok_) stop("not an RDB stream");
  int64_t db = 0;
  bool expires = false;
  for (;;) {
    const uint8_t op = byte();
    switch (op) {
      case kOpEof: complete_ = true; return;
      case kOpSelectDb: db = static_cast<int64_t>(length()); expires = false; continue;
      case kOpResizeDb: (void)length(); (void)length(); continue;
      case kOpAux: skip_string(); skip_string(); continue;
      case kOpExpireSec: skip(4); expires = true; continue;
      case kOpExpireMs: skip(8); expires = true; continue;
      case kOpFreq: skip(1); continue;
      case kOpIdle: (void)length(); continue;
      case kOpModuleAux:
        for (int i = 0; i < 3; ++i) (void)length();  // module id, when-opcode, when
        skip_module_value();
        continue;
      case kOpFunctionPreGa: stop("a pre-GA function record");
      case kOpFunction2: skip_string(); continue;
      case kOpSlotInfo: for (int i = 0; i < 3; ++i) (void)length(); continue;
      default: break;
    }
    skip_string();  // the key
    skip_value(op);
    Db& d = dbs_[db];
    ++d.keys;
    if (expires) ++d.expires;
    expires = false;
  }
}

}  // namespace stacksnap::dbengine
