#include "bundle/signature.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

Bundle SmallBundle() {
  Bundle b;
  b.metadata = {{"kind", "vigil-model"}, {"classes", {"normal", "attack"}}};
  b.tensors.push_back({"fc0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  b.tensors.push_back({"fc0.bias", {2}, {0.5f, -0.5f}});
  return b;
}

std::string Redigest(std::string bytes) {
  bytes.resize(bytes.size() - kBundleDigestSize);
  Sha256Digest d = Sha256(bytes);
  bytes.append(reinterpret_cast<const char*>(d.data()), d.size());
  return bytes;
}

class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = GenerateKeyPair();
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key_ = *k;
    policy_.keys.Add(key_.public_key);
  }
  SecretKey key_;
  TrustPolicy policy_;
};

TEST_F(SignatureTest, SignedBundleRoundTripsAndVerifies) {
  Bundle b = SmallBundle();
  const std::string unsigned_bytes = SerializeBundle(b);
  ASSERT_TRUE(SignBundle(&b, key_).ok());
  const std::string bytes = SerializeBundle(b);
  // Layout: flags bit 0, the unsigned content up to the tensor data end, then the 84-byte block,
  // its u64 length and the digest.
  EXPECT_EQ(bytes[12], 1);
  EXPECT_EQ(bytes.size(), unsigned_bytes.size() + 84 + 8);
  EXPECT_EQ(bytes.substr(bytes.size() - 32 - 8 - 84, 4), "VSIG");
  Result<Bundle> back = ParseBundle(bytes, "s.vigil");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->signature.has_value());
  EXPECT_EQ(KeyIdHex(back->signature->key_id), key_.public_key.id);
  EXPECT_EQ(back->tensors[0].data, b.tensors[0].data);
  EXPECT_EQ(back->metadata, b.metadata);
  EXPECT_EQ(back->sha256, Sha256Hex(bytes));
  EXPECT_EQ(SerializeBundle(*back), bytes);  // read and written again: byte-identical
  SignatureCheck c = CheckBundleSignature(*back, policy_.keys);
  EXPECT_EQ(c.state, SignatureState::kValid);
  EXPECT_EQ(c.key_id, key_.public_key.id);
  EXPECT_TRUE(ParseTrustedBundle(bytes, "s.vigil", policy_).ok());
  // Signing again (another key) replaces the signature.
  auto other = GenerateKeyPair();
  ASSERT_TRUE(SignBundle(&*back, *other).ok());
  EXPECT_EQ(SerializeBundle(*back).size(), bytes.size());
  EXPECT_EQ(CheckBundleSignature(*back, policy_.keys).state, SignatureState::kUnknownKey);
}

TEST_F(SignatureTest, UnsignedBundlesAreRefusedOnlyWhenRequired) {
  const std::string bytes = SerializeBundle(SmallBundle());
  SignatureCheck c;
  Result<Bundle> r = ParseTrustedBundle(bytes, "u.vigil", policy_, &c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(c.state, SignatureState::kUnsigned);
  EXPECT_EQ(r.status().message(), "u.vigil: bundle is not signed, and a signature is required");
  policy_.require_signature = false;
  EXPECT_TRUE(ParseTrustedBundle(bytes, "u.vigil", policy_).ok());
}

TEST_F(SignatureTest, WrongKeyIsRefused) {
  auto other = GenerateKeyPair();
  ASSERT_TRUE(other.ok());
  Bundle b = SmallBundle();
  ASSERT_TRUE(SignBundle(&b, *other).ok());
  SignatureCheck c;
  Result<Bundle> r = ParseTrustedBundle(SerializeBundle(b), "w.vigil", policy_, &c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(c.state, SignatureState::kUnknownKey);
  EXPECT_NE(r.status().message().find("signed by key " + other->public_key.id), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("not among the 1 trusted key(s)"), std::string::npos);
}

TEST_F(SignatureTest, TamperedContentWithAValidDigestIsRefused) {
  Bundle b = SmallBundle();
  ASSERT_TRUE(SignBundle(&b, key_).ok());
  const std::string bytes = SerializeBundle(b);
  // Change one weight byte and re-seal the digest (an attacker can always recompute it): the
  // checksum passes, the signature does not.
  Result<Bundle> parsed = ParseBundle(bytes, "t");
  ASSERT_TRUE(parsed.ok());
  const size_t tensor_byte = bytes.size() - 32 - 8 - 84 - 1;
  std::string bad = bytes;
  bad[tensor_byte] = static_cast<char>(bad[tensor_byte] ^ 0x01);
  SignatureCheck c;
  Result<Bundle> r = ParseTrustedBundle(Redigest(bad), "t.vigil", policy_, &c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(c.state, SignatureState::kInvalid);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("does not verify"), std::string::npos);
  // A flipped signature byte, re-sealed.
  bad = bytes;
  bad[bytes.size() - 32 - 8 - 1] ^= 0x01;
  EXPECT_EQ(CheckBundleSignature(*ParseBundle(Redigest(bad), "t"), policy_.keys).state,
            SignatureState::kInvalid);
  // Without re-sealing, any flipped byte is a checksum failure first.
  for (size_t i = 12; i < bytes.size(); i += 7) {
    std::string flipped = bytes;
    flipped[i] ^= 0x10;
    EXPECT_FALSE(ParseTrustedBundle(flipped, "t", policy_).ok()) << i;
  }
  // Even when signatures are optional, a trusted key's failing signature is refused.
  policy_.require_signature = false;
  EXPECT_FALSE(ParseTrustedBundle(Redigest(bad), "t", policy_).ok());
}

TEST_F(SignatureTest, StrippingTheSignatureMakesItUnsigned) {
  Bundle b = SmallBundle();
  ASSERT_TRUE(SignBundle(&b, key_).ok());
  b.signature.reset();
  EXPECT_EQ(CheckBundleSignature(*ParseBundle(SerializeBundle(b), "s"), policy_.keys).state,
            SignatureState::kUnsigned);
}

TEST_F(SignatureTest, MalformedSignatureBlocksAreCorruptOrUnsupported) {
  Bundle b = SmallBundle();
  ASSERT_TRUE(SignBundle(&b, key_).ok());
  const std::string bytes = SerializeBundle(b);
  const size_t len_at = bytes.size() - 32 - 8, block_at = len_at - 84;
  auto parse = [](std::string s) { return ParseBundle(Redigest(std::move(s)), "m.vigil"); };
  std::string s = bytes;
  s[len_at] = 19;  // shorter than a block header
  EXPECT_EQ(parse(s).status().code(), StatusCode::kCorruption);
  s = bytes;
  s[len_at + 7] = 1;  // enormous
  EXPECT_EQ(parse(s).status().code(), StatusCode::kCorruption);
  EXPECT_NE(parse(s).status().message().find("signature block length"), std::string::npos);
  s = bytes;
  s[block_at] = 'X';
  EXPECT_NE(parse(s).status().message().find("bad magic"), std::string::npos);
  s = bytes;
  s[block_at + 4] = 2;  // algorithm 2
  EXPECT_EQ(parse(s).status().code(), StatusCode::kUnsupported);
  s = bytes;
  s[block_at + 16] = 63;  // signature length disagrees with the block length
  EXPECT_EQ(parse(s).status().code(), StatusCode::kCorruption);
}

TEST(KeyFilesTest, KeygenFilesRoundTripAndAreNotOverwritten) {
  const std::string dir =
      (fs::temp_directory_path() / ("vigil_sig_test_" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  auto k = GenerateKeyPair();
  ASSERT_TRUE(k.ok());
  const std::string prefix = dir + "/ci";
  ASSERT_TRUE(WriteKeyPair(prefix, *k).ok());
  struct stat st;
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Status again = WriteKeyPair(prefix, *k);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("refusing to overwrite"), std::string::npos);

  auto sk = ReadSecretKey(prefix + ".key");
  ASSERT_TRUE(sk.ok()) << sk.status().ToString();
  EXPECT_EQ(sk->bytes, k->bytes);
  EXPECT_EQ(sk->public_key.id, k->public_key.id);
  auto pk = ReadPublicKey(prefix + ".pub");
  ASSERT_TRUE(pk.ok()) << pk.status().ToString();
  EXPECT_EQ(pk->bytes, k->public_key.bytes);
  EXPECT_EQ(pk->id.size(), 16u);

  TrustedKeys dir_keys;
  ASSERT_TRUE(dir_keys.AddPath(dir).ok());  // a directory of *.pub
  EXPECT_EQ(dir_keys.size(), 1u);
  EXPECT_NE(dir_keys.Find(k->public_key.id), nullptr);

  EXPECT_FALSE(ParsePublicKey("ssh-ed25519 AAAA", "x.pub").ok());
  EXPECT_FALSE(ParsePublicKey("vigil-ed25519-public AAAA", "x.pub").ok());
  EXPECT_FALSE(ReadPublicKey(prefix + ".key").ok());  // a secret key is not a public key
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.key", "vigil-ed25519-secret !!\n").ok());
  EXPECT_FALSE(ReadSecretKey(dir + "/bad.key").ok());
  fs::remove_all(dir);
}

TEST_F(SignatureTest, SignedFileWrittenAndReadFromDisk) {
  const std::string path =
      (fs::temp_directory_path() / ("vigil_sig_file_" + std::to_string(::getpid()) + ".vigil"))
          .string();
  Bundle b = SmallBundle();
  ASSERT_TRUE(SignBundle(&b, key_).ok());
  ASSERT_TRUE(WriteBundle(path, b).ok());
  SignatureCheck c;
  auto r = ReadTrustedBundle(path, policy_, &c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(c.state, SignatureState::kValid);
  auto hex = Sha256FileHex(path);
  EXPECT_EQ(r->sha256, *hex);
  fs::remove(path);
}

}  // namespace
}  // namespace vigil
