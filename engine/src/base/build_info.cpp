#include <pkg/engine/build_info.hpp>

namespace pkg {

std::string_view engine_version() noexcept { return PKG_VERSION_STRING; }

}  // namespace pkg
