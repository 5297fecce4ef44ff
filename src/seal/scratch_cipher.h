// Encryption for scratch files that live only as long as one process needs them (the
// SQLite snapshot copy, sqlite/scratch_vfs.h): AES-256-CTR under a key drawn from the
// CSPRNG when the cipher is made and never stored, with a random nonce per cipher and the
// byte offset as the counter, so any byte range can be encrypted or decrypted on its own.
//
// Confidentiality only, no integrity: the file never leaves this process's control and is
// read back by the same process. A range rewritten with other bytes reuses its keystream;
// that leaks the XOR of the two versions to whoever reads the disk between the writes (the
// snapshot writes every page once, then reads). Once the process is gone the key is gone:
// the blocks left on disk are noise.
//
// Thread-safety: apply() may be called from several threads at once (a context per call).
#pragma once

#include <array>
#include <cstdint>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::seal {

class ScratchCipher {
 public:
  // A fresh random key and nonce. Internal when the CSPRNG fails.
  static Result<ScratchCipher> random();
  ScratchCipher(const ScratchCipher&) = delete;
  ScratchCipher& operator=(const ScratchCipher&) = delete;
  ScratchCipher(ScratchCipher&& o) noexcept;
  ScratchCipher& operator=(ScratchCipher&&) = delete;
  ~ScratchCipher();  // wipes the key

  // XORs `data`, which sits at byte `offset` of the file, with the keystream (encrypting
  // and decrypting are the same operation). Internal on a library failure.
  Status apply(uint64_t offset, MutableBytes data) const;

 private:
  ScratchCipher() = default;
  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, 8> nonce_{};
};

}  // namespace stacksnap::seal
