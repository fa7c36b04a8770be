// AES-128-OCB through Botan 2: the only file in mosh2 that includes Botan.

#include "mosh2/crypto/ocb_session.hpp"

#include <botan/aead.h>
#include <botan/exceptn.h>

#include <stdexcept>

namespace mosh2::crypto {
namespace {

const std::uint8_t* as_u8(bytes_view b) noexcept {
  return reinterpret_cast<const std::uint8_t*>(b.data());
}

std::unique_ptr<Botan::AEAD_Mode> make_mode(Botan::Cipher_Dir dir, const session_key& key) {
  auto mode = Botan::AEAD_Mode::create("AES-128/OCB", dir);
  if (!mode || mode->tag_size() != ocb_session::tag_size)
    throw std::runtime_error("Botan does not provide AES-128/OCB with a 16-byte tag");
  const bytes_view raw = key.raw();
  mode->set_key(as_u8(raw), raw.size());
  return mode;
}

std::uint64_t blocks_of(std::size_t length) noexcept {
  return (static_cast<std::uint64_t>(length) + ocb_session::block_size - 1) /
         ocb_session::block_size;
}

}  // namespace

std::string_view describe(open_error e) noexcept {
  switch (e) {
    case open_error::too_short: return "Ciphertext must contain nonce and tag.";
    case open_error::bad_tag: return "Packet failed integrity check.";
  }
  return "Ciphertext rejected.";
}

struct ocb_session::impl {
  std::unique_ptr<Botan::AEAD_Mode> encrypt;
  std::unique_ptr<Botan::AEAD_Mode> decrypt;
  Botan::secure_vector<std::uint8_t> buffer;  // reused so keystream-adjacent data is wiped on free

  void check_nonce(Botan::AEAD_Mode& mode, bytes_view nonce) const {
    if (!mode.valid_nonce_length(nonce.size()))
      throw std::invalid_argument("OCB nonce length not supported");
  }
};

ocb_session::ocb_session(const session_key& key, std::uint64_t block_limit)
    : impl_(std::make_unique<impl>()), block_limit_(block_limit) {
  impl_->encrypt = make_mode(Botan::ENCRYPTION, key);
  impl_->decrypt = make_mode(Botan::DECRYPTION, key);
}

ocb_session::~ocb_session() = default;
ocb_session::ocb_session(ocb_session&&) noexcept = default;
ocb_session& ocb_session::operator=(ocb_session&&) noexcept = default;

bytes ocb_session::make_nonce(std::uint64_t n) {
  bytes nonce(4, '\0');
  put_be<8>(nonce, n);
  return nonce;
}

bytes ocb_session::seal(std::uint64_t n, bytes_view plaintext) {
  return seal_with(make_nonce(n), {}, plaintext);
}

result<bytes, open_error> ocb_session::open(std::uint64_t n, bytes_view sealed) {
  return open_with(make_nonce(n), {}, sealed);
}

bytes ocb_session::seal_with(bytes_view nonce, bytes_view associated_data,
                             bytes_view plaintext) {
  auto& mode = *impl_->encrypt;
  impl_->check_nonce(mode, nonce);
  const std::uint64_t blocks = blocks_of(plaintext.size());
  if (blocks > block_limit_ || blocks_ > block_limit_ - blocks)
    throw std::runtime_error("Encrypted 2^47 blocks; the session key must not be used further.");
  blocks_ += blocks;

  // Associated data persists across messages in Botan, so set it (even empty) every time.
  mode.set_associated_data(as_u8(associated_data), associated_data.size());
  mode.start(as_u8(nonce), nonce.size());
  auto& buf = impl_->buffer;
  buf.assign(as_u8(plaintext), as_u8(plaintext) + plaintext.size());
  mode.finish(buf);
  return bytes(reinterpret_cast<const char*>(buf.data()), buf.size());
}

result<bytes, open_error> ocb_session::open_with(bytes_view nonce, bytes_view associated_data,
                                                 bytes_view sealed) {
  auto& mode = *impl_->decrypt;
  impl_->check_nonce(mode, nonce);
  // Botan 2 asserts (Internal_Error) on input shorter than the tag instead of
  // reporting an authentication failure, so refuse it before Botan sees it.
  if (sealed.size() < tag_size) return failure{open_error::too_short};

  mode.set_associated_data(as_u8(associated_data), associated_data.size());
  mode.start(as_u8(nonce), nonce.size());
  auto& buf = impl_->buffer;
  buf.assign(as_u8(sealed), as_u8(sealed) + sealed.size());
  try {
    mode.finish(buf);
  } catch (const Botan::Invalid_Authentication_Tag&) {
    return failure{open_error::bad_tag};
  }
  return bytes(reinterpret_cast<const char*>(buf.data()), buf.size());
}

}  // namespace mosh2::crypto
