#include "bundle/bundle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

using nlohmann::json;

Bundle MakeBundle() {
  Bundle b;
  b.metadata = {{"model", {{"type", "mlp"}, {"layers", {41, 64, 5}}}},
                {"classes", {"normal", "DoS", "Probe", "R2L", "U2R"}},
                {"threshold", 0.4375},
                {"provenance", {{"dataset_sha256", "ab12"}, {"vigil_version", "0.1.0"}}}};
  b.tensors.push_back({"scale", {}, {2.5f}});
  b.tensors.push_back({"layer0.weight", {2, 3}, {1, -2, 3.25f, 4, 5e-8f, -6e7f}});
  b.tensors.push_back({"empty", {0}, {}});
  b.tensors.push_back({"layer0.bias", {3}, {0.5f, -0.5f, 0}});
  return b;
}

// Frames arbitrary metadata text and tensor bytes the way the writer does, with a valid digest,
// so tests can reach the checks that come after the checksum.
std::string Frame(const std::string& meta, const std::string& data, uint32_t version = 1,
                  uint32_t flags = 0) {
  std::string out = "VIGILBDL";
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((version >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((flags >> (8 * i)) & 0xff));
  uint64_t len = meta.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += meta;
  out.resize((out.size() + 63) / 64 * 64, '\0');
  out += data;
  Sha256Digest d = Sha256(out);
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
  return out;
}

std::string FloatBytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Re-digests `bytes` after a deliberate edit.
std::string Redigest(std::string bytes) {
  bytes.resize(bytes.size() - kBundleDigestSize);
  Sha256Digest d = Sha256(bytes);
  bytes.append(reinterpret_cast<const char*>(d.data()), d.size());
  return bytes;
}

void ExpectSameTensors(const std::vector<BundleTensor>& a, const std::vector<BundleTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].shape, b[i].shape);
    EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  }
}

TEST(BundleTest, RoundTrip) {
  Bundle b = MakeBundle();
  std::string bytes = SerializeBundle(b);
  Result<Bundle> back = ParseBundle(bytes, "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metadata, b.metadata);  // writer-owned keys are removed again
  ExpectSameTensors(back->tensors, b.tensors);
  EXPECT_EQ(back->sha256, Sha256Hex(bytes));
  ASSERT_NE(back->Find("layer0.weight"), nullptr);
  EXPECT_EQ(back->Find("layer0.weight")->data[2], 3.25f);
  EXPECT_EQ(back->Find("missing"), nullptr);
}

TEST(BundleTest, ReserializesByteForByte) {
  std::string bytes = SerializeBundle(MakeBundle());
  Result<Bundle> back = ParseBundle(bytes, "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SerializeBundle(*back), bytes);
  EXPECT_EQ(SerializeBundle(MakeBundle()), bytes);
}

TEST(BundleTest, EmptyBundleRoundTrips) {
  Bundle b;
  b.metadata = nullptr;
  std::string bytes = SerializeBundle(b);
  EXPECT_EQ(bytes.size() % 64, 32u);  // padded header + metadata, then the digest
  Result<Bundle> back = ParseBundle(bytes, "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metadata, json::object());
  EXPECT_TRUE(back->tensors.empty());
}

TEST(BundleTest, LayoutMatchesSpec) {
  Bundle b = MakeBundle();
  b.metadata["tensors"] = "caller value is replaced";
  std::string bytes = SerializeBundle(b);
  ASSERT_EQ(bytes.substr(0, 8), "VIGILBDL");
  EXPECT_EQ(std::string(bytes.data() + 8, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  uint64_t meta_len = 0;
  for (int i = 0; i < 8; ++i) meta_len |= uint64_t(uint8_t(bytes[16 + i])) << (8 * i);
  json meta = json::parse(bytes.substr(24, meta_len));
  EXPECT_EQ(meta["format"], (json{{"name", "vigil-bundle"}, {"version", 1}}));
  size_t data_start = (24 + meta_len + 63) / 64 * 64;
  for (size_t i = 24 + meta_len; i < data_start; ++i) EXPECT_EQ(bytes[i], '\0');
  const json& table = meta["tensors"];
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[1], (json{{"name", "layer0.weight"},
                            {"shape", {2, 3}},
                            {"dtype", "f32"},
                            {"offset", 64},
                            {"count", 6}}));
  EXPECT_EQ(table[0]["shape"], json::array());
  EXPECT_EQ(table[0]["offset"], 0);
  EXPECT_EQ(table[3]["offset"],
            128);  // after 24 bytes of weights, aligned up; "empty" is at 128 too
  for (const json& t : table) {
    size_t at = data_start + t["offset"].get<size_t>();
    EXPECT_EQ(at % 64, 0u);
    std::vector<float> expect = b.Find(t["name"])->data;
    EXPECT_EQ(bytes.substr(at, expect.size() * 4), FloatBytes(expect)) << t["name"];
  }
  size_t body = bytes.size() - 32;
  EXPECT_EQ(body, data_start + 128 + 12);  // the last tensor ends where the digest begins
  Sha256Digest d = Sha256(std::string_view(bytes).substr(0, body));
  EXPECT_EQ(bytes.substr(body), std::string(reinterpret_cast<const char*>(d.data()), 32));
}

TEST(BundleTest, TruncatedFilesAreRefused) {
  std::string bytes = SerializeBundle(MakeBundle());
  for (size_t len : {size_t{0}, size_t{7}, size_t{24}, size_t{55}}) {
    Result<Bundle> r = ParseBundle(bytes.substr(0, len), "m.vbundle");
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("m.vbundle: truncated"), std::string::npos)
        << r.status().message();
  }
  for (size_t len :
       {size_t{56}, size_t{100}, bytes.size() / 2, bytes.size() - 33, bytes.size() - 1}) {
    Result<Bundle> r = ParseBundle(bytes.substr(0, len), "m.vbundle");
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << len;
    EXPECT_EQ(r.status().message().rfind("m.vbundle: ", 0), 0u) << r.status().message();
  }
}

TEST(BundleTest, AnyFlippedByteIsRefused) {
  std::string bytes = SerializeBundle(MakeBundle());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    Result<Bundle> r = ParseBundle(bad, "m.vbundle");
    ASSERT_FALSE(r.ok()) << "flipped byte " << i;
    const std::string& msg = r.status().message();
    if (i < 8) {
      EXPECT_NE(msg.find("not a vigil bundle"), std::string::npos) << i << ": " << msg;
    } else if (i < 12) {
      EXPECT_NE(msg.find("version"), std::string::npos) << i << ": " << msg;
    } else {
      EXPECT_EQ(msg, "m.vbundle: checksum mismatch: file is corrupted or was modified") << i;
    }
  }
}

TEST(BundleTest, WrongMagic) {
  Result<Bundle> r = ParseBundle(std::string(200, 'x'), "notes.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "notes.txt: not a vigil bundle (bad magic)");
}

TEST(BundleTest, NewerVersionAsksForUpgrade) {
  std::string bytes = SerializeBundle(MakeBundle());
  bytes[8] = 2;
  Result<Bundle> r = ParseBundle(Redigest(bytes), "m.vbundle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().message(),
            "m.vbundle: bundle format version 2 is newer than this vigil supports (1); upgrade "
            "vigil");
  bytes[8] = 0;
  r = ParseBundle(Redigest(bytes), "m.vbundle");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown bundle format version 0"), std::string::npos);
}

TEST(BundleTest, UnknownFlagsAreRefused) {
  std::string bytes = SerializeBundle(MakeBundle());
  bytes[12] = 2;  // bit 1: not defined in format version 1 (bit 0 is "signed")
  Result<Bundle> r = ParseBundle(Redigest(bytes), "m.vbundle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("flags 0x2"), std::string::npos) << r.status().message();
}

TEST(BundleTest, SignedFlagWithoutASignatureBlockIsCorrupt) {
  std::string bytes = SerializeBundle(MakeBundle());
  bytes[12] = 1;  // "signed", but the bytes before the digest are tensor data, not a block
  Result<Bundle> r = ParseBundle(Redigest(bytes), "m.vbundle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message().rfind("m.vbundle: ", 0), 0u) << r.status().message();
}

TEST(BundleTest, ChecksDoneAfterTheDigest) {
  const std::string entry = R"({"name":"w","shape":[2],"dtype":"f32","offset":0,"count":2})";
  const std::string two = FloatBytes({1, 2});
  auto parse = [](const std::string& bytes) { return ParseBundle(bytes, "x.vbundle"); };
  ASSERT_TRUE(parse(Frame(R"({"tensors":[)" + entry + "]}", two)).ok());

  struct Case {
    std::string meta, data, expect;
  };
  std::vector<Case> cases = {
      {"{not json", two, "metadata is not valid JSON"},
      {"[1,2]", two, "metadata is not a JSON object"},
      {"{}", two, "no \"tensors\" table"},
      {R"({"tensors":[{"shape":[2],"dtype":"f32","offset":0,"count":2}]})", two, "empty name"},
      {R"({"tensors":[{"name":"w","shape":[2],"dtype":"f16","offset":0,"count":2}]})", two,
       "dtype 'f16' is not supported"},
      {R"({"tensors":[{"name":"w","shape":[-2],"dtype":"f32","offset":0,"count":2}]})", two,
       "not a list of dims"},
      {R"({"tensors":[{"name":"w","shape":[3],"dtype":"f32","offset":0,"count":2}]})", two,
       "does not hold 2 elements"},
      {R"({"tensors":[{"name":"w","shape":[3],"dtype":"f32","offset":0,"count":3}]})", two,
       "run past the tensor data"},
      {R"({"tensors":[{"name":"w","shape":[1],"dtype":"f32","offset":64,"count":1}]})", two,
       "run past the tensor data"},
      {R"({"tensors":[{"name":"w","shape":[1],"dtype":"f32","offset":4,"count":1}]})", two,
       "not 64-byte aligned"},
      {R"({"tensors":[{"name":"w","shape":[4611686018427387904,4],"dtype":"f32","offset":0,)"
       R"("count":0}]})",
       two, "does not hold 0 elements"},
      {R"({"tensors":[)" + entry + "," + entry + "]}", two, "appears twice"},
      {R"({"tensors":[)" + entry + "]}", FloatBytes({1, NAN}), "tensor #0 ('w'): element 1 is NaN"},
      {R"({"tensors":[)" + entry + "]}", FloatBytes({std::numeric_limits<float>::infinity(), 1}),
       "element 0 is Inf"},
  };
  for (const Case& c : cases) {
    Result<Bundle> r = parse(Frame(c.meta, c.data));
    ASSERT_FALSE(r.ok()) << c.meta;
    EXPECT_EQ(r.status().message().rfind("x.vbundle: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.meta << " -> " << r.status().message();
  }

  // A metadata length that runs past the end, with a digest that matches.
  std::string bytes = Frame("{}", "");
  bytes[16] = 100;
  Result<Bundle> r = parse(Redigest(bytes));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metadata length 100"), std::string::npos);
}

TEST(BundleTest, ValidateRefusesBadBundles) {
  Bundle b = MakeBundle();
  b.tensors[1].data[4] = NAN;
  Status s = ValidateBundle(b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensor #1 ('layer0.weight'): element 4 is NaN"), std::string::npos)
      << s.message();

  b = MakeBundle();
  b.tensors[3].data[0] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(ValidateBundle(b).message().find("is Inf"), std::string::npos);

  b = MakeBundle();
  b.tensors[1].shape = {3, 3};
  EXPECT_NE(ValidateBundle(b).message().find("shape holds 9 elements but data has 6"),
            std::string::npos);

  b = MakeBundle();
  b.tensors[1].shape = {-1, -6};
  EXPECT_FALSE(ValidateBundle(b).ok());

  b = MakeBundle();
  b.tensors[2].name = "scale";
  EXPECT_NE(ValidateBundle(b).message().find("duplicate name"), std::string::npos);

  b = MakeBundle();
  b.tensors[0].name = "";
  EXPECT_NE(ValidateBundle(b).message().find("empty name"), std::string::npos);

  b = MakeBundle();
  b.metadata["metrics"] = {{"roc_auc", std::nan("")}};
  EXPECT_NE(ValidateBundle(b).message().find("metadata/metrics/roc_auc"), std::string::npos);

  b = MakeBundle();
  b.metadata["bad"] = std::string("\xff\xfe");
  EXPECT_NE(ValidateBundle(b).message().find("metadata"), std::string::npos);

  b = MakeBundle();
  b.metadata = json::array();
  EXPECT_FALSE(ValidateBundle(b).ok());

  EXPECT_TRUE(ValidateBundle(MakeBundle()).ok());
}

class BundleFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_bundle_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(BundleFileTest, WriteThenRead) {
  std::string path = Path("model.vbundle");
  ASSERT_TRUE(WriteBundle(path, MakeBundle()).ok());
  Result<Bundle> back = ReadBundle(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metadata, MakeBundle().metadata);
  ExpectSameTensors(back->tensors, MakeBundle().tensors);
  Result<std::string> file_hash = Sha256FileHex(path);
  ASSERT_TRUE(file_hash.ok());
  EXPECT_EQ(back->sha256, *file_hash);
}

TEST_F(BundleFileTest, NaNWeightIsRefusedAtWriteTime) {
  Bundle b = MakeBundle();
  b.tensors[0].data[0] = NAN;
  std::string path = Path("nan.vbundle");
  Status s = WriteBundle(path, b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind(path + ": tensor #0 ('scale'): element 0 is NaN", 0), 0u)
      << s.message();
  EXPECT_FALSE(FileExists(path));
}

TEST_F(BundleFileTest, ReadErrorsNameTheFile) {
  std::string path = Path("model.vbundle");
  ASSERT_TRUE(WriteBundle(path, MakeBundle()).ok());
  Result<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  std::string bad = *bytes;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(path, bad).ok());
  Result<Bundle> r = ReadBundle(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ": checksum mismatch: file is corrupted or was modified");

  Result<Bundle> missing = ReadBundle(Path("absent.vbundle"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
