// Schema <-> JSON, so a model bundle carries the exact schema it was trained with and the detection
// plane can parse records without the original TOML file. Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/table.h"

namespace vigil {

nlohmann::json SchemaToJson(const Schema& schema);
Result<Schema> SchemaFromJson(const nlohmann::json& j);

}  // namespace vigil
