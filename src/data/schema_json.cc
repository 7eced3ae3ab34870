#include "data/schema_json.h"

namespace vigil {

nlohmann::json SchemaToJson(const Schema& schema) {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : schema.columns) {
    cols.push_back({{"name", c.name}, {"role", ColumnRoleName(c.role)}});
  }
  return {{"format", schema.format},
          {"header", schema.header},
          {"delimiter", std::string(1, schema.delimiter)},
          {"normal_classes", schema.normal_classes},
          {"default_role", ColumnRoleName(schema.default_role)},
          {"columns", cols}};
}

Result<Schema> SchemaFromJson(const nlohmann::json& j) {
  Schema s;
  try {
    s.format = j.at("format").get<std::string>();
    s.header = j.at("header").get<bool>();
    std::string delim = j.at("delimiter").get<std::string>();
    if (delim.size() != 1) return Status::Corruption("schema: delimiter must be one character");
    s.delimiter = delim[0];
    s.normal_classes = j.at("normal_classes").get<std::vector<std::string>>();
    std::string default_role = j.value("default_role", std::string("ignore"));
    if (!ParseColumnRole(default_role, &s.default_role)) {
      return Status::Corruption("schema: unknown default_role '" + default_role + "'");
    }
    for (const auto& c : j.at("columns")) {
      ColumnSpec spec;
      spec.name = c.at("name").get<std::string>();
      std::string role = c.at("role").get<std::string>();
      if (!ParseColumnRole(role, &spec.role)) {
        return Status::Corruption("schema: column '" + spec.name + "' has unknown role '" + role +
                                  "'");
      }
      s.columns.push_back(std::move(spec));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("schema: ") + e.what());
  }
  return s;
}

}  // namespace vigil
