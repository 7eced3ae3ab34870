#include "bundle/bundle.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

using nlohmann::json;

constexpr char kTensorsKey[] = "tensors";
constexpr char kFormatKey[] = "format";
constexpr char kFormatName[] = "vigil-bundle";
constexpr char kSignatureMagic[] = "VSIG";        // 4 bytes, no terminator in the file
constexpr size_t kSignatureBlockHeaderSize = 20;  // magic, algorithm, key id, signature length

size_t AlignUp(size_t n) {
  return (n + kBundleAlignment - 1) / kBundleAlignment * kBundleAlignment;
}

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLE(std::string_view bytes, size_t pos, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[pos + i])) << (8 * i);
  }
  return v;
}

void AppendFloatsLE(std::string* out, const std::vector<float>& data) {
  if constexpr (std::endian::native == std::endian::little) {
    out->append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  } else {
    for (float f : data) PutLE(out, std::bit_cast<uint32_t>(f), 4);
  }
}

void ReadFloatsLE(std::string_view bytes, size_t pos, size_t count, std::vector<float>* out) {
  out->resize(count);
  if constexpr (std::endian::native == std::endian::little) {
    if (count > 0) std::memcpy(out->data(), bytes.data() + pos, count * sizeof(float));
  } else {
    for (size_t i = 0; i < count; ++i) {
      (*out)[i] = std::bit_cast<float>(static_cast<uint32_t>(GetLE(bytes, pos + 4 * i, 4)));
    }
  }
}

// NaN and Inf have no JSON form (nlohmann would write null and the value would change on read).
Status CheckFiniteNumbers(const json& j, const std::string& where) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    return Status::InvalidArgument("metadata" + where + ": NaN/Inf cannot be stored in JSON");
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      VIGIL_RETURN_IF_ERROR(CheckFiniteNumbers(it.value(), where + "/" + it.key()));
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      VIGIL_RETURN_IF_ERROR(CheckFiniteNumbers(j[i], where + "/" + std::to_string(i)));
    }
  }
  return Status::Ok();
}

// Number of elements of `shape`, or false if a dim is negative or the product overflows.
bool ShapeElements(const std::vector<int64_t>& shape, uint64_t* count) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    uint64_t u = static_cast<uint64_t>(d);
    if (u != 0 && n > UINT64_MAX / u) return false;
    n *= u;
  }
  *count = n;
  return true;
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// Checks one tensor table entry against the data section and fills `t` from it.
Status ParseTensor(const json& entry, size_t index, std::string_view bytes, size_t data_start,
                   size_t data_len, BundleTensor* t) {
  std::string what = "tensor #" + std::to_string(index);
  if (!entry.is_object()) return Status::Corruption(what + ": table entry is not an object");
  auto name = entry.find("name");
  if (name == entry.end() || !name->is_string() || name->get<std::string>().empty()) {
    return Status::Corruption(what + ": missing or empty name");
  }
  t->name = name->get<std::string>();
  what += " (" + Quoted(t->name) + ")";
  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) {
    return Status::Corruption(what + ": missing dtype");
  }
  if (*dtype != "f32") {
    return Status::Unsupported(what + ": dtype " + Quoted(dtype->get<std::string>()) +
                               " is not supported (only f32)");
  }
  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) {
    return Status::Corruption(what + ": missing shape");
  }
  t->shape.clear();
  for (const json& d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Status::Corruption(what + ": shape " + shape->dump() + " is not a list of dims >= 0");
    }
    t->shape.push_back(d.get<int64_t>());
  }
  auto offset_it = entry.find("offset");
  auto count_it = entry.find("count");
  if (offset_it == entry.end() || !offset_it->is_number_unsigned() || count_it == entry.end() ||
      !count_it->is_number_unsigned()) {
    return Status::Corruption(what + ": missing or negative offset/count");
  }
  uint64_t offset = offset_it->get<uint64_t>(), count = count_it->get<uint64_t>();
  if (offset % kBundleAlignment != 0) {
    return Status::Corruption(what + ": offset " + std::to_string(offset) + " is not " +
                              std::to_string(kBundleAlignment) + "-byte aligned");
  }
  if (offset > data_len || count > (data_len - offset) / sizeof(float)) {
    return Status::Corruption(what + ": " + std::to_string(count) + " floats at offset " +
                              std::to_string(offset) + " run past the tensor data (" +
                              std::to_string(data_len) + " bytes)");
  }
  uint64_t elements = 0;
  if (!ShapeElements(t->shape, &elements) || elements != count) {
    return Status::Corruption(what + ": shape " + shape->dump() + " does not hold " +
                              std::to_string(count) + " elements");
  }
  ReadFloatsLE(bytes, data_start + offset, count, &t->data);
  for (size_t i = 0; i < t->data.size(); ++i) {
    if (!std::isfinite(t->data[i])) {
      return Status::Corruption(what + ": element " + std::to_string(i) + " is " +
                                (std::isnan(t->data[i]) ? "NaN" : "Inf"));
    }
  }
  return Status::Ok();
}

// Header, metadata, padding and tensor data: every byte up to the signature block (signed) or
// the digest (unsigned).
std::string SerializeContent(const Bundle& b, uint32_t flags) {
  json meta = b.metadata.is_object() ? b.metadata : json::object();
  json table = json::array();
  size_t data_len = 0;
  for (const BundleTensor& t : b.tensors) {
    data_len = AlignUp(data_len);
    table.push_back({{"name", t.name},
                     {"shape", t.shape},
                     {"dtype", "f32"},
                     {"offset", data_len},
                     {"count", t.data.size()}});
    data_len += t.data.size() * sizeof(float);
  }
  meta[kTensorsKey] = std::move(table);
  meta[kFormatKey] = {{"name", kFormatName}, {"version", kBundleFormatVersion}};
  std::string text = meta.dump(-1, ' ', false, json::error_handler_t::replace);

  std::string out;
  size_t data_start = AlignUp(kBundleHeaderSize + text.size());
  out.reserve(data_start + data_len + kSignatureBlockHeaderSize + kEd25519SignatureSize + 8 +
              kBundleDigestSize);
  out.append(kBundleMagic, 8);
  PutLE(&out, kBundleFormatVersion, 4);
  PutLE(&out, flags, 4);
  PutLE(&out, text.size(), 8);
  out += text;
  for (const BundleTensor& t : b.tensors) {
    out.resize(AlignUp(out.size()), '\0');
    AppendFloatsLE(&out, t.data);
  }
  if (b.tensors.empty()) out.resize(data_start, '\0');
  return out;
}

// The signature block: magic "VSIG", u32 algorithm, key id, u32 signature length, signature.
void AppendSignatureBlock(std::string* out, const BundleSignature& sig) {
  out->append(kSignatureMagic, 4);
  PutLE(out, sig.algorithm, 4);
  out->append(reinterpret_cast<const char*>(sig.key_id.data()), sig.key_id.size());
  PutLE(out, sig.signature.size(), 4);
  out->append(sig.signature);
}

// Parses the signature block of a signed file whose digest has been checked. `body_end` is where
// the digest starts; sets *content_end to where the signature block starts.
Status ParseSignatureBlock(std::string_view bytes, size_t body_end, BundleSignature* sig,
                           size_t* content_end) {
  if (body_end < kBundleHeaderSize + 8) {
    return Status::Corruption("signed bundle has no room for a signature block");
  }
  const uint64_t block_len = GetLE(bytes, body_end - 8, 8);
  const size_t room = body_end - 8 - kBundleHeaderSize;
  if (block_len < kSignatureBlockHeaderSize || block_len > room) {
    return Status::Corruption("signature block length " + std::to_string(block_len) +
                              " does not fit the file");
  }
  const size_t start = body_end - 8 - block_len;
  if (bytes.substr(start, 4) != std::string_view(kSignatureMagic, 4)) {
    return Status::Corruption("signature block has a bad magic");
  }
  sig->algorithm = static_cast<uint32_t>(GetLE(bytes, start + 4, 4));
  std::memcpy(sig->key_id.data(), bytes.data() + start + 8, sig->key_id.size());
  const uint64_t sig_len = GetLE(bytes, start + 16, 4);
  if (sig_len != block_len - kSignatureBlockHeaderSize) {
    return Status::Corruption("signature block: signature length " + std::to_string(sig_len) +
                              " does not match the block length " + std::to_string(block_len));
  }
  if (sig->algorithm != kSignatureAlgEd25519) {
    return Status::Unsupported("signature algorithm " + std::to_string(sig->algorithm) +
                               " is not supported by this vigil (1 = Ed25519); upgrade vigil");
  }
  if (sig_len != kEd25519SignatureSize) {
    return Status::Corruption("Ed25519 signature of " + std::to_string(sig_len) +
                              " bytes (expected 64)");
  }
  sig->signature.assign(bytes.data() + start + kSignatureBlockHeaderSize, sig_len);
  sig->signed_digest = Sha256(bytes.substr(0, start));
  *content_end = start;
  return Status::Ok();
}

}  // namespace

const BundleTensor* Bundle::Find(const std::string& name) const {
  for (const BundleTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Status ValidateBundle(const Bundle& b) {
  if (!b.metadata.is_object() && !b.metadata.is_null()) {
    return Status::InvalidArgument("metadata must be a JSON object, not " +
                                   std::string(b.metadata.type_name()));
  }
  VIGIL_RETURN_IF_ERROR(CheckFiniteNumbers(b.metadata, ""));
  try {
    (void)b.metadata.dump();  // throws on strings that are not UTF-8
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("metadata: ") + e.what());
  }
  if (b.signature.has_value()) {
    if (b.signature->algorithm != kSignatureAlgEd25519) {
      return Status::InvalidArgument("signature algorithm " +
                                     std::to_string(b.signature->algorithm) + " is unknown");
    }
    if (b.signature->signature.size() != kEd25519SignatureSize) {
      return Status::InvalidArgument("Ed25519 signature of " +
                                     std::to_string(b.signature->signature.size()) +
                                     " bytes (expected 64)");
    }
  }
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < b.tensors.size(); ++i) {
    const BundleTensor& t = b.tensors[i];
    std::string what = "tensor #" + std::to_string(i) + " (" + Quoted(t.name) + ")";
    if (t.name.empty()) return Status::InvalidArgument(what + ": empty name");
    if (!names.insert(t.name).second) return Status::InvalidArgument(what + ": duplicate name");
    uint64_t elements = 0;
    if (!ShapeElements(t.shape, &elements)) {
      return Status::InvalidArgument(what + ": negative or overflowing shape");
    }
    if (elements != t.data.size()) {
      return Status::InvalidArgument(what + ": shape holds " + std::to_string(elements) +
                                     " elements but data has " + std::to_string(t.data.size()));
    }
    for (size_t k = 0; k < t.data.size(); ++k) {
      if (!std::isfinite(t.data[k])) {
        return Status::InvalidArgument(what + ": element " + std::to_string(k) + " is " +
                                       (std::isnan(t.data[k]) ? "NaN" : "Inf") +
                                       "; refusing to write a bundle with non-finite weights");
      }
    }
  }
  return Status::Ok();
}

std::string SerializeSignedContent(const Bundle& b) {
  return SerializeContent(b, kBundleFlagSigned);
}

std::string SerializeBundle(const Bundle& b) {
  std::string out;
  if (b.signature.has_value()) {
    out = SerializeContent(b, kBundleFlagSigned);
    const size_t block_start = out.size();
    AppendSignatureBlock(&out, *b.signature);
    PutLE(&out, out.size() - block_start, 8);
  } else {
    out = SerializeContent(b, 0);
  }
  Sha256Digest digest = Sha256(out);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

Status WriteBundle(const std::string& path, const Bundle& b) {
  Status valid = ValidateBundle(b);
  if (!valid.ok()) return valid.WithContext(path);
  return WriteFileAtomic(path, SerializeBundle(b));
}

Result<Bundle> ReadBundle(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseBundle(bytes, path);
}

Result<Bundle> ParseBundle(std::string_view bytes, const std::string& name_for_errors) {
  const std::string& name = name_for_errors;
  const size_t min_size = kBundleHeaderSize + kBundleDigestSize;
  if (bytes.size() < min_size) {
    return Status::Corruption(name + ": truncated: " + std::to_string(bytes.size()) +
                              " bytes, a vigil bundle has at least " + std::to_string(min_size));
  }
  if (bytes.substr(0, 8) != std::string_view(kBundleMagic, 8)) {
    return Status::Corruption(name + ": not a vigil bundle (bad magic)");
  }
  uint32_t version = static_cast<uint32_t>(GetLE(bytes, 8, 4));
  if (version > kBundleFormatVersion) {
    return Status::Unsupported(name + ": bundle format version " + std::to_string(version) +
                               " is newer than this vigil supports (" +
                               std::to_string(kBundleFormatVersion) + "); upgrade vigil");
  }
  if (version == 0) {
    return Status::Corruption(name + ": unknown bundle format version 0");
  }
  // The digest is the last 32 bytes in every layout, signed or not, so integrity is checked
  // before anything else in the file is believed.
  const size_t body_end = bytes.size() - kBundleDigestSize;
  Sha256Digest digest = Sha256(bytes.substr(0, body_end));
  if (std::memcmp(digest.data(), bytes.data() + body_end, kBundleDigestSize) != 0) {
    return Status::Corruption(name + ": checksum mismatch: file is corrupted or was modified");
  }
  uint32_t flags = static_cast<uint32_t>(GetLE(bytes, 12, 4));
  if ((flags & ~kBundleFlagSigned) != 0) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%x", flags);
    return Status::Unsupported(name + ": bundle flags " + hex +
                               " are not supported by this vigil (format version 1 defines "
                               "only 0x1, signed); upgrade vigil");
  }
  // Where the tensor data ends: at the signature block in a signed file, else at the digest.
  size_t content_end = body_end;
  std::optional<BundleSignature> signature;
  if ((flags & kBundleFlagSigned) != 0) {
    signature.emplace();
    Status s = ParseSignatureBlock(bytes, body_end, &*signature, &content_end);
    if (!s.ok()) return s.WithContext(name);
  }
  uint64_t meta_len = GetLE(bytes, 16, 8);
  if (meta_len > content_end - kBundleHeaderSize) {
    return Status::Corruption(name + ": metadata length " + std::to_string(meta_len) +
                              " runs past the end of the file");
  }
  const size_t data_start = AlignUp(kBundleHeaderSize + meta_len);
  if (data_start > content_end) {
    return Status::Corruption(name + ": tensor data section starts past the end of the file");
  }
  const size_t data_len = content_end - data_start;

  Bundle b;
  try {
    b.metadata = json::parse(bytes.substr(kBundleHeaderSize, meta_len));
  } catch (const json::exception& e) {
    return Status::Corruption(name + ": metadata is not valid JSON: " + e.what());
  }
  if (!b.metadata.is_object()) {
    return Status::Corruption(name + ": metadata is not a JSON object");
  }
  auto table = b.metadata.find(kTensorsKey);
  if (table == b.metadata.end() || !table->is_array()) {
    return Status::Corruption(name + ": metadata has no \"tensors\" table");
  }
  std::unordered_set<std::string> names;
  b.tensors.resize(table->size());
  for (size_t i = 0; i < table->size(); ++i) {
    Status s = ParseTensor((*table)[i], i, bytes, data_start, data_len, &b.tensors[i]);
    if (!s.ok()) return s.WithContext(name);
    if (!names.insert(b.tensors[i].name).second) {
      return Status::Corruption(name + ": tensor name " + Quoted(b.tensors[i].name) +
                                " appears twice");
    }
  }
  b.metadata.erase(kTensorsKey);
  b.metadata.erase(kFormatKey);
  b.sha256 = Sha256Hex(bytes);
  b.signature = std::move(signature);
  return b;
}

}  // namespace vigil
