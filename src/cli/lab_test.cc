// The traffic lab end to end (issue 5): tests/lab/run_lab.sh makes benign and attack traffic
// between network namespaces and labels it; `vigil capture` turns the capture into flows; an
// autoencoder trained on part of the lab's benign flows (its validation split, benign too, sets
// the threshold) must flag the nmap scans and the SYN flood (recall >= 0.9) with a false-alarm
// rate <= 0.05 on the benign flows it never saw. An MLP trained on UNSW-NB15 scores the same
// flows; its figures are printed, not asserted. The Argus comparison runs on the lab capture too.
//
// Needs root and `ip netns` (skipped otherwise, saying why) and the lab's tools (scripts/setup);
// takes about two minutes. VIGIL_LAB_OUT=DIR keeps the capture, labels, flows and models in DIR.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const std::string kSource = VIGIL_SOURCE_DIR;
const std::string kVigil = std::string(VIGIL_BINARY_DIR) + "/vigil";
const std::string kData = kSource + "/../shared/data";

struct CmdRun {
  int code = -1;
  std::string out;  // stdout and stderr together
};

CmdRun Shell(const std::string& cmd) {
  CmdRun r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> Split(const std::string& line, char sep = ',') {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

// Why network namespaces cannot be made here, or "" if they can.
std::string NamespacesUnavailable() {
  if (::geteuid() != 0) return "not root: the traffic lab needs network namespaces";
  if (Shell("command -v ip").code != 0) return "no `ip` (iproute2): the traffic lab needs it";
  const std::string probe = "vigil-labprobe-" + std::to_string(::getpid());
  CmdRun r = Shell("ip netns add " + probe);
  if (r.code != 0) return "cannot create a network namespace: " + r.out;
  Shell("ip netns del " + probe);
  return "";
}

struct Period {
  std::string category, host;
  bool attack = false;
  double start = 0, end = 0;
};

// A flow's category: the period whose host is one of its endpoints and whose time (1 s of slack
// either side) holds its start; attack periods first. "" if none.
std::string Categorize(const std::vector<Period>& periods, const std::string& src,
                       const std::string& dst, double stime) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const Period& p : periods) {
      if (p.attack != (pass == 0)) continue;
      if ((p.host == src || p.host == dst) && stime >= p.start - 1 && stime <= p.end + 1)
        return p.category;
    }
  }
  return "";
}

struct Scores {
  std::vector<double> score;
  std::vector<bool> attack;
};

// Reads `vigil predict` JSON lines: "attack" and "score" of every row.
Scores ReadPredictions(const std::string& path) {
  Scores s;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find("\"attack\":");
    size_t sc = line.find("\"score\":");
    if (a == std::string::npos || sc == std::string::npos) continue;
    s.attack.push_back(line.compare(a + 9, 4, "true") == 0);
    s.score.push_back(std::strtod(line.c_str() + sc + 8, nullptr));
  }
  return s;
}

// ROC-AUC of attack rows against benign rows (ties count half).
double RocAuc(const std::vector<double>& score, const std::vector<bool>& positive) {
  std::vector<size_t> order(score.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, pos = 0, neg = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    double mid_rank = (i + 1 + j) / 2.0;  // ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += mid_rank;
        ++pos;
      } else {
        ++neg;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

struct Figures {
  std::map<std::string, std::pair<int, int>> per_category;  // category: flagged, total
  double recall = 0, far = 0, auc = 0;
  double Recall(const std::set<std::string>& cats) const {
    int hit = 0, all = 0;
    for (const auto& [c, ht] : per_category)
      if (cats.count(c)) hit += ht.first, all += ht.second;
    return all ? static_cast<double>(hit) / all : 0;
  }
};

Figures Measure(const Scores& s, const std::vector<std::string>& category) {
  Figures f;
  std::vector<bool> positive(category.size());
  int tp = 0, pos = 0, fp = 0, neg = 0;
  for (size_t i = 0; i < category.size(); ++i) {
    positive[i] = category[i] != "benign";
    auto& [hit, all] = f.per_category[category[i]];
    ++all;
    if (s.attack[i]) ++hit;
    if (positive[i]) {
      ++pos;
      tp += s.attack[i] ? 1 : 0;
    } else {
      ++neg;
      fp += s.attack[i] ? 1 : 0;
    }
  }
  f.recall = pos ? static_cast<double>(tp) / pos : 0;
  f.far = neg ? static_cast<double>(fp) / neg : 0;
  f.auc = RocAuc(s.score, positive);
  return f;
}

// Agreement (percent) per field from `vigil capture --compare-argus`, and the match rate.
std::map<std::string, double> ParseAgreement(const std::string& text, double* matched) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t m = line.find("matched ");
    size_t paren = line.find(" (", m);
    if (m != std::string::npos && paren != std::string::npos &&
        line.find("argus ") != std::string::npos)
      *matched = std::strtod(line.c_str() + paren + 2, nullptr);
    if (line.rfind("  ", 0) != 0) continue;
    std::istringstream fields(line);
    std::string name, pct;
    if (fields >> name >> pct && !pct.empty() && pct.back() == '%')
      out[name] = std::strtod(pct.c_str(), nullptr);
  }
  return out;
}

TEST(LabTest, AutoencoderOnLabBenignFlowsFlagsScansAndSynFlood) {
  std::string why = NamespacesUnavailable();
  if (!why.empty()) GTEST_SKIP() << why;
  const char* keep = std::getenv("VIGIL_LAB_OUT");
  const std::string dir =
      keep != nullptr && *keep != '\0'
          ? std::string(keep)
          : (fs::temp_directory_path() / ("vigil_lab_test_" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    }
  } cleanup{dir, keep != nullptr && *keep != '\0'};

  // 1. The lab: 40 s of benign traffic, then the attacks (about 90 s in all).
  CmdRun r = Shell("bash " + kSource + "/tests/lab/run_lab.sh " + dir + " --duration 40");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(fs::exists(dir + "/lab.pcap"));

  // 2. Flows.
  r = Shell(kVigil + " capture --pcap " + dir + "/lab.pcap --output " + dir + "/flows.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  std::printf("%s", r.out.c_str());

  // 3. Labels.
  std::vector<Period> periods;
  {
    std::ifstream in(dir + "/labels.csv");
    std::string line;
    std::getline(in, line);
    ASSERT_EQ(line, "category,label,host,start,end");
    while (std::getline(in, line)) {
      std::vector<std::string> f = Split(line);
      ASSERT_EQ(f.size(), 5u) << line;
      periods.push_back({f[0], f[2], f[1] == "1", std::stod(f[3]), std::stod(f[4])});
    }
  }
  std::ifstream flows(dir + "/flows.csv");
  std::string header;
  ASSERT_TRUE(std::getline(flows, header));
  std::vector<std::string> names = Split(header);
  auto col = [&](const std::string& n) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), n) - names.begin());
  };
  const size_t srcip = col("srcip"), dstip = col("dstip"), stime = col("stime");
  ASSERT_LT(std::max({srcip, dstip, stime}), names.size()) << header;

  // Every fourth benign flow is held out; the autoencoder trains on the rest (its own validation
  // split of those, benign only, sets the threshold). The test file has the held-out benign flows
  // and every attack flow. Flows outside every period (the servers' readiness checks) are left out.
  std::ofstream train(dir + "/ae_train.csv"), test(dir + "/test.csv");
  train << header << ",attack_cat,label\n";
  test << header << ",attack_cat,label\n";
  std::vector<std::string> test_category;
  std::map<std::string, int> counts;
  int benign_seen = 0, unlabelled = 0;
  std::string line;
  while (std::getline(flows, line)) {
    std::vector<std::string> f = Split(line);
    ASSERT_EQ(f.size(), names.size()) << line;
    std::string cat = Categorize(periods, f[srcip], f[dstip], std::stod(f[stime]));
    if (cat.empty()) {
      ++unlabelled;
      continue;
    }
    ++counts[cat];
    const bool benign = cat == "benign";
    const std::string tail = benign ? ",Normal,0\n" : "," + cat + ",1\n";
    if (benign && benign_seen++ % 4 != 3) {
      train << line << tail;
    } else {
      test << line << tail;
      test_category.push_back(cat);
    }
  }
  train.close();
  test.close();
  std::printf("lab flows: %d unlabelled (outside the periods)", unlabelled);
  for (const auto& [c, n] : counts) std::printf(", %s %d", c.c_str(), n);
  std::printf("\n");
  // The lab must have produced what the bars are about.
  ASSERT_GE(counts["benign"], 300) << "too few benign flows; see " << dir << "/lab.log";
  ASSERT_GE(counts["nmap-syn"], 900);
  ASSERT_GE(counts["nmap-version"], 150);
  ASSERT_GE(counts["syn-flood"], 2500);
  ASSERT_GE(counts["ssh-bruteforce"], 1);

  // 4. The lab-trained autoencoder: threshold at a 2% false-alarm rate on benign validation rows
  //    (about 75 rows: at 1% the threshold was their maximum, and one odd benign flow put it above
  //    every attack in one run out of several; at 2% it is the second largest).
  r = Shell(kVigil + " train -q --format unsw-nb15 --train " + dir +
            "/ae_train.csv --model autoencoder --threshold far --target-far 0.02 --valid-split 0.2 "
            "--epochs 200 --patience 30 --batch-size 32 --threads 1 --seed 7 --out " +
            dir + "/ae.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Shell(kVigil + " predict --model " + dir + "/ae.vigil --format unsw-nb15 --input " + dir +
            "/test.csv --output " + dir + "/ae.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  Scores ae = ReadPredictions(dir + "/ae.jsonl");
  ASSERT_EQ(ae.score.size(), test_category.size());

  // 5. An MLP trained on UNSW-NB15 (2 epochs) on the same flows: reported, not asserted.
  const std::string unsw = kData + "/unsw-nb15/UNSW_NB15_dev.csv";
  Scores mlp;
  if (fs::exists(unsw)) {
    r = Shell(kVigil + " train -q --format unsw-nb15 --train " + unsw +
              " --model mlp --epochs 2 --threads 1 --out " + dir + "/mlp.vigil");
    ASSERT_EQ(r.code, 0) << r.out;
    r = Shell(kVigil + " predict --model " + dir + "/mlp.vigil --format unsw-nb15 --input " + dir +
              "/test.csv --output " + dir + "/mlp.jsonl");
    ASSERT_EQ(r.code, 0) << r.out;
    mlp = ReadPredictions(dir + "/mlp.jsonl");
    ASSERT_EQ(mlp.score.size(), test_category.size());
  } else {
    std::printf("no %s: the UNSW-NB15 MLP is not run\n", unsw.c_str());
  }

  const std::set<std::string> scans = {"nmap-syn", "nmap-version"}, flood = {"syn-flood"};
  Figures fae = Measure(ae, test_category);
  std::printf("\n%-22s %8s %8s %9s %9s %9s %9s %9s %8s\n", "model", "recall", "FAR", "ROC-AUC",
              "nmap-syn", "nmap-ver", "synflood", "ssh-brute", "benign");
  auto print = [&](const char* name, const Figures& f) {
    auto rate = [&](const char* c) {
      auto it = f.per_category.find(c);
      return it == f.per_category.end() || it->second.second == 0
                 ? 0.0
                 : static_cast<double>(it->second.first) / it->second.second;
    };
    std::printf("%-22s %8.4f %8.4f %9.4f %9.4f %9.4f %9.4f %9.4f %8d\n", name, f.recall, f.far,
                f.auc, rate("nmap-syn"), rate("nmap-version"), rate("syn-flood"),
                rate("ssh-bruteforce"), f.per_category.at("benign").second);
  };
  print("autoencoder (lab)", fae);
  if (!mlp.score.empty()) print("mlp (UNSW-NB15)", Measure(mlp, test_category));
  std::printf(
      "(per-category columns: share of that category's flows flagged; benign: held-out "
      "benign flows)\n\n");

  // The bar.
  EXPECT_GE(fae.Recall(scans), 0.9) << "nmap scan flows";
  EXPECT_GE(fae.Recall(flood), 0.9) << "SYN flood flows";
  EXPECT_LE(fae.far, 0.05) << "false alarms on held-out benign flows";

  // 6. Argus on the lab capture: the same flows and per-field agreement.
  if (Shell("command -v argus && command -v ra").code == 0) {
    r = Shell(kVigil + " capture --compare-argus " + dir + "/lab.pcap");
    ASSERT_EQ(r.code, 0) << r.out;
    std::printf("%s", r.out.c_str());
    double matched = 0;
    std::map<std::string, double> agree = ParseAgreement(r.out, &matched);
    EXPECT_GE(matched, 99.0) << r.out;
    ASSERT_GE(agree.size(), 20u) << r.out;
    for (const auto& [field, pct] : agree) {
      // Known definitional differences (docs/flow-features.md): Argus's jitter splits active and
      // idle intervals (the lab's ssh sessions and downloads have idle gaps), and its loss
      // heuristics also count some out-of-order segments. Everything else agrees on >= 99%.
      double bar = field == "sjit" || field == "djit"     ? 85.0
                   : field == "sloss" || field == "dloss" ? 98.0
                                                          : 99.0;
      EXPECT_GE(pct, bar) << field << "\n" << r.out;
    }
  } else {
    std::printf("argus/ra not installed: the Argus comparison is not run\n");
  }
}

}  // namespace
