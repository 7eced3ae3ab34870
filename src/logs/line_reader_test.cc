#include "logs/line_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/file.h"
#include "logs/parser.h"

namespace vigil {
namespace {

std::vector<std::string> ReadAll(const std::string& path, uint64_t offset, uint64_t* bytes,
                                 std::string* hooked) {
  auto r = LineReader::Open(path, offset, [hooked](std::string_view b) { hooked->append(b); });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> lines;
  std::string_view l;
  while (r->Next(&l)) lines.emplace_back(l);
  EXPECT_TRUE(r->status().ok());
  *bytes = r->bytes_read();
  return lines;
}

TEST(LineReaderTest, SplitsLikeSplitLinesAcrossChunksAndFromAnOffset) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("vigil_line_reader_" + std::to_string(::getpid())))
          .string();
  std::string text = "first\r\nsecond\n\n" + std::string(3 << 20, 'x') + "\nlast";
  ASSERT_TRUE(WriteFileAtomic(path, text).ok());
  uint64_t bytes = 0;
  std::string hooked;
  std::vector<std::string> lines = ReadAll(path, 0, &bytes, &hooked);
  std::vector<std::string> want;
  for (std::string_view l : SplitLines(text)) want.emplace_back(l);
  EXPECT_EQ(lines, want);
  EXPECT_EQ(bytes, text.size());
  EXPECT_EQ(hooked, text);

  hooked.clear();
  lines = ReadAll(path, 7, &bytes, &hooked);  // after "first\r\n"
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "second");
  EXPECT_EQ(bytes, text.size() - 7);
  std::filesystem::remove(path);

  EXPECT_EQ(LineReader::Open(path, 0).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
