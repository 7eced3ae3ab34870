// Ed25519 signatures of model bundles (libsodium): key pairs, key files, signing and verification
// against a set of trusted public keys.
//
// What is signed (docs/bundle.md, "Signatures"): the message "vigil-bundle-signature-v1" followed
// by the SHA-256 of every byte of the file before the signature block (header with the signed
// flag, metadata, padding, tensors). A key is named by its key id: the first 8 bytes of the SHA-256
// of the 32-byte public key, written as 16 lowercase hex digits.
//
// Key files are one line of text: `vigil-ed25519-public <base64 key> [comment]` (PREFIX.pub) and
// `vigil-ed25519-secret <base64 32-byte seed>` (PREFIX.key, created with mode 0600 and never
// overwritten).
//
// Trust (the agent and the registry call this): CheckBundleSignature classifies a parsed bundle
// (unsigned, signed by an unknown key, invalid, valid); VerifyBundleTrust applies a TrustPolicy
// and returns the refusal as a Status whose message says why and names the key id;
// ParseTrustedBundle / ReadTrustedBundle do ParseBundle (checksum and structure) and the policy in
// one call.
//
// Thread safety: all functions are stateless or read only their arguments; a TrustedKeys may be
// read from many threads once built. libsodium is initialised on first use (thread-safe).
// Failure: errors as values; key material is never included in messages.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"

namespace vigil {

struct PublicKey {
  std::array<uint8_t, 32> bytes{};
  std::string id;  // 16 hex digits (KeyId)
};

struct SecretKey {
  std::array<uint8_t, 64> bytes{};  // libsodium's Ed25519 secret key (seed and public key)
  PublicKey public_key;
};

// 16 hex digits: the first 8 bytes of SHA-256(public key).
std::string KeyIdHex(const std::array<uint8_t, 32>& public_key);
std::string KeyIdHex(const std::array<uint8_t, kSignatureKeyIdSize>& key_id);

// A fresh key pair from the system's random source.
Result<SecretKey> GenerateKeyPair();

// Writes PREFIX.key (mode 0600) and PREFIX.pub. Refuses to overwrite either file.
Status WriteKeyPair(const std::string& prefix, const SecretKey& key);

std::string FormatPublicKey(const PublicKey& key);  // the .pub line, key id as comment
Result<PublicKey> ParsePublicKey(std::string_view text, const std::string& name_for_errors);
Result<PublicKey> ReadPublicKey(const std::string& path);
Result<SecretKey> ReadSecretKey(const std::string& path);

// Signs `b` in place: sets b->signature (Ed25519, the key's id, the signed digest). Replaces an
// existing signature. Write the bundle with WriteBundle/SerializeBundle afterwards.
Status SignBundle(Bundle* b, const SecretKey& key);

// The public keys a verifier trusts, by key id.
class TrustedKeys {
 public:
  void Add(const PublicKey& key);
  // A .pub file, or a directory whose *.pub files are all read.
  Status AddPath(const std::string& path);
  const PublicKey* Find(const std::string& key_id) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  const std::vector<PublicKey>& keys() const { return keys_; }

 private:
  std::vector<PublicKey> keys_;
};

enum class SignatureState {
  kUnsigned,    // no signature block
  kUnknownKey,  // signed by a key that is not trusted
  kInvalid,     // signed by a trusted key, but the signature does not verify
  kValid,       // signed by a trusted key, and the signature verifies
};
const char* SignatureStateName(SignatureState s);  // "unsigned", "unknown_key", "invalid", "valid"

struct SignatureCheck {
  SignatureState state = SignatureState::kUnsigned;
  std::string key_id;  // empty when unsigned
};

// Classifies the signature of a bundle as parsed by ParseBundle (uses b.signature->signed_digest,
// which ParseBundle computed from the bytes read).
SignatureCheck CheckBundleSignature(const Bundle& b, const TrustedKeys& trusted);

struct TrustPolicy {
  TrustedKeys keys;
  // true: only kValid passes. false: kInvalid is still refused (a trusted key's signature that
  // fails means the file was tampered with), unsigned and unknown-key bundles pass.
  bool require_signature = true;
};

// Ok, or a kInvalidArgument (unsigned or unknown key, when required) / kCorruption (invalid)
// Status whose message starts with `name_for_errors` and says why.
Status VerifyBundleTrust(const Bundle& b, const TrustPolicy& policy,
                         const std::string& name_for_errors);

// ParseBundle + VerifyBundleTrust. *check (optional) receives the classification whenever the
// bundle parses, also when the policy refuses it (for the caller's log line and metric).
Result<Bundle> ParseTrustedBundle(std::string_view bytes, const std::string& name_for_errors,
                                  const TrustPolicy& policy, SignatureCheck* check = nullptr);
Result<Bundle> ReadTrustedBundle(const std::string& path, const TrustPolicy& policy,
                                 SignatureCheck* check = nullptr);

}  // namespace vigil
