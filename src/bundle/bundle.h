// The model bundle: the one file the training plane writes and the detection plane reads.
//
// A bundle is a JSON metadata document (model type and layers, preprocessing state, schema, class
// names, threshold, training config, metrics, provenance: the caller defines those keys) plus named
// float32 tensors (the weights), framed by a magic, a format version and a SHA-256 digest of the
// whole file. A bundle may carry an Ed25519 signature block (flags bit 0); this file parses and
// writes that block, and bundle/signature.h creates and verifies signatures (libsodium). The byte
// layout is specified in docs/bundle.md; keep the two in step.
//
// Ownership: a Bundle owns its metadata and tensor data (plain values, copies are deep).
// Thread safety: all functions are pure or touch only the named file; distinct Bundles may be used
// from any thread, one Bundle may be read concurrently.
// Failure: reading never trusts the file. Every check (size, magic, version, flags, checksum, JSON,
// tensor table, finite weights) returns a Status whose message starts with the file name;
// corruption is kCorruption, a newer format kUnsupported. Writing validates first (ValidateBundle)
// and refuses NaN/Inf weights and malformed tensors. No exception escapes.
//
// This library must not include LibTorch: the agent links it.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sha256.h"
#include "core/status.h"

namespace vigil {

struct BundleTensor {
  std::string name;            // unique within a bundle, non-empty
  std::vector<int64_t> shape;  // {} is a scalar (one element); every dim >= 0
  std::vector<float> data;     // row-major; size == product of shape
};

inline constexpr uint32_t kBundleFlagSigned = 0x1;   // flags bit 0: a signature block follows
inline constexpr uint32_t kSignatureAlgEd25519 = 1;  // the only algorithm defined
inline constexpr size_t kSignatureKeyIdSize = 8;     // first bytes of SHA-256(public key)
inline constexpr size_t kEd25519SignatureSize = 64;

// The signature block of a signed bundle (docs/bundle.md, "Signatures"). ParseBundle checks its
// structure only; bundle/signature.h checks the signature itself against trusted keys.
struct BundleSignature {
  uint32_t algorithm = kSignatureAlgEd25519;
  std::array<uint8_t, kSignatureKeyIdSize> key_id{};  // which key signed
  std::string signature;                              // raw bytes (64 for Ed25519)
  // SHA-256 of the bytes the signature covers (the file up to the signature block). Set by
  // ParseBundle from the bytes read and by SignBundle; ignored by the writer.
  Sha256Digest signed_digest{};
};

struct Bundle {
  // A JSON object. The writer owns the top-level keys "tensors" (the tensor table) and "format"
  // ({"name": "vigil-bundle", "version": 1}): they are replaced on write and removed on read, so
  // callers never see them.
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<BundleTensor> tensors;  // written and read back in this order
  // Lowercase hex SHA-256 of the whole file as read (what `sha256sum` prints; the bundle's content
  // address). Set by ParseBundle/ReadBundle; ignored by the writer.
  std::string sha256;
  // Set when the file is signed. The writer writes the block back (flags bit 0), so a signed bundle
  // read and written again is byte-identical and still verifies; a caller that changes the
  // metadata or tensors of a signed Bundle must sign it again (or reset this) before writing.
  std::optional<BundleSignature> signature;

  // The tensor with this name, or nullptr. Linear search.
  const BundleTensor* Find(const std::string& name) const;
};

inline constexpr uint32_t kBundleFormatVersion = 1;
inline constexpr char kBundleMagic[] = "VIGILBDL";  // 8 bytes, no terminator in the file
inline constexpr size_t kBundleHeaderSize = 24;     // magic, version, flags, metadata length
inline constexpr size_t kBundleDigestSize = 32;     // trailing SHA-256
inline constexpr size_t kBundleAlignment = 64;      // tensor data alignment

// Checks what the writer relies on: metadata is a JSON object (or null) whose strings are valid
// UTF-8; tensor names non-empty and unique; dims >= 0 and their product == data.size(); every
// weight finite; a signature, if any, has a known algorithm and a signature of its size. The
// message names the offending tensor and, for weights, the element index.
Status ValidateBundle(const Bundle& b);

// The file's bytes. Deterministic: the same Bundle always gives the same bytes, so a bundle read
// back and serialised again is byte-identical. Does not validate: a Bundle that fails
// ValidateBundle gives bytes ParseBundle refuses. Ignores b.sha256. With b.signature set, writes
// the signed layout (flags bit 0, signature block) with that signature, whether or not it is valid.
std::string SerializeBundle(const Bundle& b);

// The bytes a signature covers: the signed layout of `b` up to the end of its tensor data (header
// with flags bit 0 set, metadata, padding, tensors). Independent of b.signature.
std::string SerializeSignedContent(const Bundle& b);

// Validates, serialises and writes atomically (WriteFileAtomic): readers see the old file or the
// new one. Errors name `path`.
Status WriteBundle(const std::string& path, const Bundle& b);

// Reads and verifies `path`; see ParseBundle.
Result<Bundle> ReadBundle(const std::string& path);

// Verifies, in this order: size >= header + digest ("truncated"), magic ("not a vigil bundle"),
// version (newer -> kUnsupported "upgrade vigil"; 0 -> unknown), SHA-256 ("checksum mismatch"),
// flags (only bit 0, signed, is defined; others -> kUnsupported), the signature block's structure
// when signed (not the signature: see bundle/signature.h), metadata length, metadata JSON, tensor
// table entries (offset, count and alignment within the data section, shape product == count,
// unique names), finite weights. Messages start with `name_for_errors`.
Result<Bundle> ParseBundle(std::string_view bytes, const std::string& name_for_errors);

}  // namespace vigil
