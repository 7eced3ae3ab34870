// libFuzzer target for the model bundle reader: hostile or corrupt bundle bytes must give a Bundle
// or an error Status, never a crash. Inputs that parse are re-serialised and must parse again to
// the same tensors (round trip). The checksum makes random inputs fail early, so the target also
// re-seals every input with a valid digest to reach the header, metadata and tensor-table checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bundle/bundle.h"
#include "core/sha256.h"

namespace {

void Check(std::string_view bytes) {
  auto b = vigil::ParseBundle(bytes, "fuzz.vigil");
  if (!b.ok()) return;
  std::string again = vigil::SerializeBundle(*b);
  auto c = vigil::ParseBundle(again, "again.vigil");
  if (!c.ok() || c->tensors.size() != b->tensors.size()) std::abort();
  for (size_t i = 0; i < b->tensors.size(); ++i) {
    if (c->tensors[i].name != b->tensors[i].name || c->tensors[i].shape != b->tensors[i].shape)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Check(in);
  // Re-seal: replace (or append) the trailing digest so the structural checks are exercised.
  std::string sealed(
      in.substr(0, size >= vigil::kBundleDigestSize ? size - vigil::kBundleDigestSize : size));
  vigil::Sha256Digest d = vigil::Sha256(sealed);
  sealed.append(reinterpret_cast<const char*>(d.data()), d.size());
  Check(sealed);
  return 0;
}
