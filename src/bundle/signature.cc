#include "bundle/signature.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

constexpr char kPublicTag[] = "vigil-ed25519-public";
constexpr char kSecretTag[] = "vigil-ed25519-secret";
constexpr char kSignedMessagePrefix[] = "vigil-bundle-signature-v1";  // no terminator signed

Status InitSodium() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = sodium_init(); });
  if (rc < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

std::string Base64(const uint8_t* bytes, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes exactly n bytes of base64; false otherwise.
bool FromBase64(std::string_view text, uint8_t* out, size_t n) {
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, n, text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  return len == n && end == text.data() + text.size();
}

// Whitespace-separated fields of the first line of `text`.
std::vector<std::string_view> Fields(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// Writes `contents` to `path` with `mode`, durably, failing if `path` exists: a temporary file is
// written and fsynced, then hard-linked to the final name (link refuses to replace a file).
Status WriteNewFile(const std::string& path, std::string_view contents, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == contents.size() && ::fsync(fd) == 0;
  std::string err = ok ? "" : std::strerror(errno);
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": write failed: " + err);
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int link_errno = errno;
    err = std::strerror(link_errno);
    ::unlink(tmp.c_str());
    if (link_errno == EEXIST)
      return Status::InvalidArgument(path + ": exists; refusing to overwrite");
    return Status::IOError(path + ": cannot create: " + err);
  }
  ::unlink(tmp.c_str());
  return Status::Ok();
}

std::string SignedMessage(const Sha256Digest& digest) {
  std::string msg(kSignedMessagePrefix, sizeof(kSignedMessagePrefix) - 1);
  msg.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return msg;
}

Status VerifyCheck(const SignatureCheck& c, const TrustPolicy& policy, const std::string& name) {
  switch (c.state) {
    case SignatureState::kValid:
      return Status::Ok();
    case SignatureState::kInvalid:
      return Status::Corruption(name + ": signature by key " + c.key_id +
                                " does not verify: the bundle was modified after signing, or the "
                                "signature is forged");
    case SignatureState::kUnknownKey:
      if (!policy.require_signature) return Status::Ok();
      return Status::InvalidArgument(name + ": signed by key " + c.key_id +
                                     ", which is not among the " +
                                     std::to_string(policy.keys.size()) + " trusted key(s)");
    case SignatureState::kUnsigned:
      if (!policy.require_signature) return Status::Ok();
      return Status::InvalidArgument(name + ": bundle is not signed, and a signature is required");
  }
  return Status::Internal(name + ": unknown signature state");
}

}  // namespace

std::string KeyIdHex(const std::array<uint8_t, 32>& public_key) {
  Sha256Digest d =
      Sha256(std::string_view(reinterpret_cast<const char*>(public_key.data()), public_key.size()));
  return ToHex(d.data(), kSignatureKeyIdSize);
}

std::string KeyIdHex(const std::array<uint8_t, kSignatureKeyIdSize>& key_id) {
  return ToHex(key_id.data(), key_id.size());
}

Result<SecretKey> GenerateKeyPair() {
  VIGIL_RETURN_IF_ERROR(InitSodium());
  SecretKey k;
  crypto_sign_keypair(k.public_key.bytes.data(), k.bytes.data());
  k.public_key.id = KeyIdHex(k.public_key.bytes);
  return k;
}

std::string FormatPublicKey(const PublicKey& key) {
  return std::string(kPublicTag) + " " + Base64(key.bytes.data(), key.bytes.size()) + " " + key.id +
         "\n";
}

Status WriteKeyPair(const std::string& prefix, const SecretKey& key) {
  VIGIL_RETURN_IF_ERROR(InitSodium());
  const std::string key_path = prefix + ".key", pub_path = prefix + ".pub";
  if (FileExists(key_path) || FileExists(pub_path)) {
    return Status::InvalidArgument(prefix + ".key or " + prefix +
                                   ".pub exists; refusing to overwrite a key");
  }
  uint8_t seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, key.bytes.data());
  std::string secret = std::string(kSecretTag) + " " + Base64(seed, sizeof(seed)) + "\n";
  sodium_memzero(seed, sizeof(seed));
  Status s = WriteNewFile(key_path, secret, 0600);
  sodium_memzero(secret.data(), secret.size());
  VIGIL_RETURN_IF_ERROR(s);
  return WriteNewFile(pub_path, FormatPublicKey(key.public_key), 0644);
}

Result<PublicKey> ParsePublicKey(std::string_view text, const std::string& name_for_errors) {
  std::vector<std::string_view> f = Fields(text);
  if (f.size() < 2 || f[0] != kPublicTag) {
    return Status::InvalidArgument(name_for_errors + ": not a vigil public key (expected '" +
                                   kPublicTag + " <base64>')");
  }
  PublicKey k;
  if (!FromBase64(f[1], k.bytes.data(), k.bytes.size())) {
    return Status::InvalidArgument(name_for_errors +
                                   ": public key is not 32 bytes of base64 (Ed25519)");
  }
  k.id = KeyIdHex(k.bytes);
  return k;
}

Result<PublicKey> ReadPublicKey(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParsePublicKey(text, path);
}

Result<SecretKey> ReadSecretKey(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(InitSodium());
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string_view> f = Fields(text);
  uint8_t seed[crypto_sign_SEEDBYTES];
  const bool ok = f.size() >= 2 && f[0] == kSecretTag && FromBase64(f[1], seed, sizeof(seed));
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    return Status::InvalidArgument(path + ": not a vigil secret key (expected '" + kSecretTag +
                                   " <base64 seed>', as written by vigil keygen)");
  }
  SecretKey k;
  crypto_sign_seed_keypair(k.public_key.bytes.data(), k.bytes.data(), seed);
  sodium_memzero(seed, sizeof(seed));
  k.public_key.id = KeyIdHex(k.public_key.bytes);
  return k;
}

Status SignBundle(Bundle* b, const SecretKey& key) {
  VIGIL_RETURN_IF_ERROR(InitSodium());
  BundleSignature sig;
  sig.algorithm = kSignatureAlgEd25519;
  Sha256Digest id = Sha256(std::string_view(
      reinterpret_cast<const char*>(key.public_key.bytes.data()), key.public_key.bytes.size()));
  std::memcpy(sig.key_id.data(), id.data(), sig.key_id.size());
  sig.signed_digest = Sha256(SerializeSignedContent(*b));
  const std::string msg = SignedMessage(sig.signed_digest);
  sig.signature.resize(crypto_sign_BYTES);
  if (crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.signature.data()), nullptr,
                           reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                           key.bytes.data()) != 0) {
    return Status::Internal("Ed25519 signing failed");
  }
  b->signature = std::move(sig);
  return Status::Ok();
}

void TrustedKeys::Add(const PublicKey& key) {
  if (Find(key.id) == nullptr) keys_.push_back(key);
}

Status TrustedKeys::AddPath(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    size_t found = 0;
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      if (e.path().extension() != ".pub" || !e.is_regular_file()) continue;
      VIGIL_ASSIGN_OR_RETURN(PublicKey k, ReadPublicKey(e.path().string()));
      Add(k);
      ++found;
    }
    if (ec) return Status::IOError(path + ": cannot list: " + ec.message());
    if (found == 0) return Status::NotFound(path + ": no *.pub key in this directory");
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(PublicKey k, ReadPublicKey(path));
  Add(k);
  return Status::Ok();
}

const PublicKey* TrustedKeys::Find(const std::string& key_id) const {
  for (const PublicKey& k : keys_) {
    if (k.id == key_id) return &k;
  }
  return nullptr;
}

const char* SignatureStateName(SignatureState s) {
  switch (s) {
    case SignatureState::kUnsigned:
      return "unsigned";
    case SignatureState::kUnknownKey:
      return "unknown_key";
    case SignatureState::kInvalid:
      return "invalid";
    case SignatureState::kValid:
      return "valid";
  }
  return "?";
}

SignatureCheck CheckBundleSignature(const Bundle& b, const TrustedKeys& trusted) {
  SignatureCheck c;
  if (!b.signature.has_value()) return c;
  const BundleSignature& sig = *b.signature;
  c.key_id = KeyIdHex(sig.key_id);
  const PublicKey* key = trusted.Find(c.key_id);
  if (key == nullptr) {
    c.state = SignatureState::kUnknownKey;
    return c;
  }
  c.state = SignatureState::kInvalid;
  if (!InitSodium().ok() || sig.algorithm != kSignatureAlgEd25519 ||
      sig.signature.size() != crypto_sign_BYTES) {
    return c;
  }
  const std::string msg = SignedMessage(sig.signed_digest);
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.signature.data()),
                                  reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                  key->bytes.data()) == 0) {
    c.state = SignatureState::kValid;
  }
  return c;
}

Status VerifyBundleTrust(const Bundle& b, const TrustPolicy& policy,
                         const std::string& name_for_errors) {
  return VerifyCheck(CheckBundleSignature(b, policy.keys), policy, name_for_errors);
}

Result<Bundle> ParseTrustedBundle(std::string_view bytes, const std::string& name_for_errors,
                                  const TrustPolicy& policy, SignatureCheck* check) {
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ParseBundle(bytes, name_for_errors));
  SignatureCheck c = CheckBundleSignature(b, policy.keys);
  if (check != nullptr) *check = c;
  VIGIL_RETURN_IF_ERROR(VerifyCheck(c, policy, name_for_errors));
  return b;
}

Result<Bundle> ReadTrustedBundle(const std::string& path, const TrustPolicy& policy,
                                 SignatureCheck* check) {
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseTrustedBundle(bytes, path, policy, check);
}

}  // namespace vigil
