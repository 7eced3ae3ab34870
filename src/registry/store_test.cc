// The registry's store and core without sockets: versions, channels, rollback, watch, trust, and
// crash safety through the fault-injection seam.
#include "registry/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bundle/bundle.h"
#include "bundle/signature.h"
#include "core/sha256.h"
#include "registry/auth.h"
#include "registry/registry.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

std::string BundleBytes(int seed, const SecretKey* key = nullptr) {
  Bundle b;
  b.metadata = {{"kind", "vigil-model"},
                {"model", {{"type", "mlp"}, {"input_dim", 3}, {"layers", {{{"name", "fc0"}}}}}},
                {"task", "binary"},
                {"classes", {"normal", "attack"}},
                {"metrics", {{"validation", {{"accuracy", 0.5 + seed / 1000.0}}}}}};
  b.tensors.push_back({"fc0.weight", {2, 3}, {1, 2, 3, 4, 5, static_cast<float>(seed)}});
  if (key != nullptr) {
    EXPECT_TRUE(SignBundle(&b, *key).ok());
  }
  return SerializeBundle(b);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("vigil_store_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> Open(StoreOptions o = {}) {
    auto s = Store::Open(dir_, std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static VersionInfo Info() {
    VersionInfo i;
    i.publisher = "ci";
    i.signature = "unsigned";
    return i;
  }

  std::string dir_;
};

TEST_F(StoreTest, VersionsAreNumberedContentAddressedAndIdempotent) {
  auto s = Open();
  ASSERT_TRUE(s);
  bool created = false;
  const std::string a = BundleBytes(1), b = BundleBytes(2);
  auto v1 = s->AddVersion("nsl", a, Info(), &created);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(v1->number, 1);
  EXPECT_EQ(v1->sha256, Sha256Hex(a));
  EXPECT_EQ(v1->size, static_cast<int64_t>(a.size()));
  EXPECT_TRUE(fs::exists(dir_ + "/blobs/" + v1->sha256.substr(0, 2) + "/" + v1->sha256));
  auto again = s->AddVersion("nsl", a, Info(), &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(again->number, 1);
  auto v2 = s->AddVersion("nsl", b, Info(), &created);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->number, 2);
  // The same bytes under another model: its own version 1, one shared blob.
  auto other = s->AddVersion("unsw", a, Info(), &created);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(other->number, 1);

  EXPECT_EQ(s->FindVersion("nsl", "2")->sha256, v2->sha256);
  EXPECT_EQ(s->FindVersion("nsl", v1->sha256)->number, 1);
  EXPECT_EQ(s->FindVersion("nsl", v2->sha256.substr(0, 12))->number, 2);
  EXPECT_EQ(s->FindVersion("nsl", "3").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->FindVersion("nsl", "abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->FindVersion("nsl", "../../etc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->FindVersion("nope", "1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*s->ReadBlob(v2->sha256), b);

  auto models = s->Models();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].name, "nsl");
  EXPECT_EQ((*models)[0].versions, 2);
  EXPECT_EQ((*models)[0].latest_sha256, v2->sha256);
  EXPECT_TRUE(s->Check(true)->empty());
}

TEST_F(StoreTest, PromoteAndRollbackFormAStackWithIncreasingRevisions) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<std::string> sha;
  for (int i = 1; i <= 3; ++i) {
    sha.push_back(s->AddVersion("m", BundleBytes(i), Info(), nullptr)->sha256);
  }
  EXPECT_FALSE(s->Channel("m", "stable")->set());
  EXPECT_EQ(s->Rollback("m", "stable", "x").status().code(), StatusCode::kNotFound);
  auto p1 = s->Promote("m", "stable", sha[0], "alice");
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  EXPECT_EQ(p1->number, 1);
  EXPECT_GT(p1->revision, 0);
  EXPECT_EQ(s->Rollback("m", "stable", "x").status().code(), StatusCode::kInvalidArgument);
  auto same = s->Promote("m", "stable", sha[0], "alice");
  EXPECT_EQ(same->revision, p1->revision);  // no change, no new revision
  auto p2 = s->Promote("m", "stable", sha[1], "alice");
  auto p3 = s->Promote("m", "stable", sha[2], "bob");
  EXPECT_GT(p2->revision, p1->revision);
  EXPECT_GT(p3->revision, p2->revision);
  auto r1 = s->Rollback("m", "stable", "carol");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->sha256, sha[1]);
  EXPECT_GT(r1->revision, p3->revision);
  auto r2 = s->Rollback("m", "stable", "carol");
  EXPECT_EQ(r2->sha256, sha[0]);  // two rollbacks undo two promotions
  EXPECT_EQ(s->Rollback("m", "stable", "x").status().code(), StatusCode::kInvalidArgument);
  // Another channel is independent; revisions are store-wide.
  auto canary = s->Promote("m", "canary", sha[2], "bob");
  EXPECT_GT(canary->revision, r2->revision);
  EXPECT_EQ(s->Channel("m", "stable")->sha256, sha[0]);
  EXPECT_EQ(s->Promote("m", "stable", Sha256Hex("nothing"), "x").status().code(),
            StatusCode::kNotFound);

  auto h = s->History("m", "stable", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 5u);
  EXPECT_EQ((*h)[0].action, "rollback");
  EXPECT_EQ((*h)[0].sha256, sha[0]);
  EXPECT_EQ((*h)[0].previous, sha[1]);
  EXPECT_EQ((*h)[0].actor, "carol");
  EXPECT_EQ((*h)[4].action, "promote");
  EXPECT_EQ((*h)[4].previous, "");

  // Everything survives a restart.
  const int64_t last = canary->revision;
  s.reset();
  s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Channel("m", "stable")->sha256, sha[0]);
  EXPECT_EQ(s->Channel("m", "canary")->revision, last);
  EXPECT_EQ(s->Versions("m")->size(), 3u);
  auto p4 = s->Promote("m", "stable", sha[2], "x");
  EXPECT_GT(p4->revision, last);  // never reused
}

TEST_F(StoreTest, ASecondProcessCannotOpenTheSameStore) {
  auto s = Open();
  ASSERT_TRUE(s);
  // flock locks belong to the open file description: a second Open in this process conflicts
  // the same way another process would.
  auto second = Store::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos);
  s.reset();
  EXPECT_TRUE(Store::Open(dir_).ok());
}

TEST_F(StoreTest, AnInterruptedUploadLeavesNothingBehindAfterRestart) {
  auto s = Open();
  ASSERT_TRUE(s);
  const std::string kept = BundleBytes(1);
  ASSERT_TRUE(s->AddVersion("m", kept, Info(), nullptr).ok());
  ASSERT_TRUE(s->Promote("m", "stable", Sha256Hex(kept), "x").ok());
  s.reset();

  for (const char* step : {"blob.write", "blob.rename", "index.commit"}) {
    SCOPED_TRACE(step);
    StoreOptions o;
    o.fault = [step](std::string_view at) {
      return at == step ? Status::IOError(std::string("injected crash at ") + step) : Status::Ok();
    };
    s = Open(o);
    ASSERT_TRUE(s);
    auto r = s->AddVersion("m", BundleBytes(7), Info(), nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("injected crash"), std::string::npos);
    s.reset();  // the "crash": the process goes away with whatever it left on disk

    s = Open();
    ASSERT_TRUE(s);
    const StoreOpenReport& rep = s->open_report();
    EXPECT_EQ(rep.removed_temp_files, std::string(step) == "blob.rename" ? 1u : 0u);
    EXPECT_EQ(rep.removed_orphan_blobs, std::string(step) == "index.commit" ? 1u : 0u);
    EXPECT_EQ(rep.versions, 1u);
    auto problems = s->Check(true);
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty()) << (*problems)[0];
    EXPECT_EQ(s->Versions("m")->size(), 1u);
    EXPECT_EQ(*s->ReadBlob(Sha256Hex(kept)), kept);
    EXPECT_EQ(s->Channel("m", "stable")->sha256, Sha256Hex(kept));
    s.reset();
  }
}

TEST_F(StoreTest, AFailedChannelChangeLeavesTheChannelAsItWas) {
  bool fail = false;
  StoreOptions o;
  o.fault = [&fail](std::string_view at) {
    return fail && at == "index.commit" ? Status::IOError("injected") : Status::Ok();
  };
  auto s = Open(o);
  ASSERT_TRUE(s);
  const std::string a = s->AddVersion("m", BundleBytes(1), Info(), nullptr)->sha256;
  const std::string b = s->AddVersion("m", BundleBytes(2), Info(), nullptr)->sha256;
  auto p = s->Promote("m", "stable", a, "x");
  fail = true;
  EXPECT_FALSE(s->Promote("m", "stable", b, "x").ok());
  EXPECT_EQ(s->Channel("m", "stable")->sha256, a);
  EXPECT_EQ(s->Channel("m", "stable")->revision, p->revision);
  EXPECT_EQ(s->History("m", "stable", 10)->size(), 1u);
  fail = false;
  EXPECT_EQ(s->Promote("m", "stable", b, "x")->sha256, b);
}

TEST_F(StoreTest, CorruptedBlobsAreDetected) {
  auto s = Open();
  ASSERT_TRUE(s);
  const std::string sha = s->AddVersion("m", BundleBytes(1), Info(), nullptr)->sha256;
  const std::string path = dir_ + "/blobs/" + sha.substr(0, 2) + "/" + sha;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('X');
  }
  auto r = s->ReadBlob(sha);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  auto problems = s->Check(true);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_NE((*problems)[0].find("does not match"), std::string::npos);
}

class RegistryCoreTest : public StoreTest {};

TEST_F(RegistryCoreTest, PublishChecksBundlesAndSignatures) {
  auto key = GenerateKeyPair();
  auto stranger = GenerateKeyPair();
  ASSERT_TRUE(key.ok() && stranger.ok());
  RegistryOptions o;
  o.trust.keys.Add(key->public_key);
  o.trust.require_signature = true;
  auto reg = Registry::Open(dir_, o);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  Registry& r = **reg;
  PublishRefusal why;

  auto ok = r.Publish("nsl", BundleBytes(1, &*key), "ci", &why);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(why, PublishRefusal::kNone);
  EXPECT_EQ(ok->version.signature, "valid");
  EXPECT_EQ(ok->version.key_id, key->public_key.id);
  EXPECT_EQ(ok->version.publisher, "ci");
  EXPECT_EQ(ok->version.summary["model"]["type"], "mlp");
  EXPECT_EQ(ok->version.summary["metrics"]["validation"]["accuracy"], 0.501);

  EXPECT_FALSE(r.Publish("nsl", BundleBytes(2), "ci", &why).ok());
  EXPECT_EQ(why, PublishRefusal::kUntrusted);
  EXPECT_FALSE(r.Publish("nsl", BundleBytes(3, &*stranger), "ci", &why).ok());
  EXPECT_EQ(why, PublishRefusal::kUntrusted);
  std::string flipped = BundleBytes(4, &*key);
  flipped[100] ^= 1;
  auto bad = r.Publish("nsl", flipped, "ci", &why);
  EXPECT_EQ(why, PublishRefusal::kCorrupt);
  EXPECT_NE(bad.status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_FALSE(r.Publish("../etc", BundleBytes(5, &*key), "ci", &why).ok());
  EXPECT_EQ(why, PublishRefusal::kBadRequest);
  // Nothing refused left a trace.
  EXPECT_EQ(r.ListVersions("nsl")->size(), 1u);
  EXPECT_TRUE(r.store().Check(true)->empty());
}

TEST_F(RegistryCoreTest, WatchWakesOnChangeTimesOutAndStopsOnShutdown) {
  auto reg = Registry::Open(dir_, RegistryOptions{});
  ASSERT_TRUE(reg.ok());
  Registry& r = **reg;
  bool changed = true;
  // A channel that does not exist yet: waits, then reports revision 0.
  auto none = r.WatchChannel("m", "stable", 0, std::chrono::milliseconds(50), &changed);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(changed);
  EXPECT_EQ(none->revision, 0);

  const std::string a = r.Publish("m", BundleBytes(1), "ci")->version.sha256;
  std::thread promoter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(r.Promote("m", "stable", a, "ci").ok());
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto s = r.WatchChannel("m", "stable", 0, std::chrono::seconds(10), &changed);
  promoter.join();
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(changed);
  EXPECT_EQ(s->sha256, a);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // Already past the revision: returns at once.
  auto now = r.WatchChannel("m", "stable", s->revision - 1, std::chrono::seconds(10), &changed);
  EXPECT_TRUE(changed);
  // Up to date: times out unchanged.
  auto same = r.WatchChannel("m", "stable", s->revision, std::chrono::milliseconds(50), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(same->revision, s->revision);

  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r.Shutdown();
  });
  const auto t1 = std::chrono::steady_clock::now();
  (void)r.WatchChannel("m", "stable", s->revision, std::chrono::seconds(30), &changed);
  stopper.join();
  EXPECT_FALSE(changed);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(5));
  EXPECT_EQ(r.watchers(), 0u);
}

TEST(TokenSetTest, ParsesRolesAndAuthorizes) {
  auto t = TokenSet::Parse(R"(
[[tokens]]
name = "ci"
token = "publisher-token-0123456789"
role = "publisher"

[[tokens]]
token = "reader-token-0123456789"
role = "reader"
)",
                           "tokens.toml");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string actor;
  EXPECT_EQ(t->Authorize("Bearer publisher-token-0123456789", Role::kPublisher, &actor),
            AuthDecision::kAllow);
  EXPECT_EQ(actor, "ci");
  EXPECT_EQ(t->Authorize("Bearer reader-token-0123456789", Role::kReader, &actor),
            AuthDecision::kAllow);
  EXPECT_EQ(actor, "token-2");
  EXPECT_EQ(t->Authorize("Bearer reader-token-0123456789", Role::kPublisher, &actor),
            AuthDecision::kForbidden);
  EXPECT_EQ(t->Authorize("Bearer publisher-token-0123456789", Role::kReader, &actor),
            AuthDecision::kAllow);  // a publisher may read
  EXPECT_EQ(t->Authorize("", Role::kReader, &actor), AuthDecision::kUnauthenticated);
  EXPECT_EQ(t->Authorize("Bearer wrong-token-0123456789", Role::kReader, &actor),
            AuthDecision::kUnauthenticated);
  EXPECT_EQ(t->Authorize("Basic publisher-token-0123456789", Role::kReader, &actor),
            AuthDecision::kUnauthenticated);
  EXPECT_EQ(TokenSet::AllowEveryone().Authorize("", Role::kPublisher, &actor),
            AuthDecision::kAllow);
}

TEST(TokenSetTest, ErrorsNameTheLine) {
  struct Case {
    std::string text, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"", "no [[tokens]] table"},
           {"[[tokens]]\ntoken = \"short\"\nrole = \"reader\"\n",
            "tokens.toml:1: token is missing"},
           {"[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"admin\"\n", "role 'admin'"},
           {"[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"reader\"\nrol = 1\n",
            "tokens.toml:4: unknown key 'rol'"},
           {"[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"reader\"\n"
            "[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"publisher\"\n",
            "the same token appears twice"},
           {"token = \"0123456789abcdef\"\n", "unknown key 'token'"},
           {"[[tokens]\n", "tokens.toml:1:"},
       }) {
    auto t = TokenSet::Parse(c.text, "tokens.toml");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos) << t.status().message();
  }
}

TEST(NamesTest, OnlySafeNames) {
  for (const char* ok : {"nsl-kdd", "m", "a.b_c-1", "UNSW15"}) EXPECT_TRUE(ValidName(ok)) << ok;
  for (const char* bad : {"", ".", "..", "../x", "a/b", ".hidden", "-x", "a b", "a%2f", "é"}) {
    EXPECT_FALSE(ValidName(bad)) << bad;
  }
  EXPECT_FALSE(ValidName(std::string(129, 'a')));
}

}  // namespace
}  // namespace vigil
