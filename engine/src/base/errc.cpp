#include <pkg/engine/errc.hpp>

#include <string>

namespace pkg {
namespace {

class engine_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "pkg"; }

    std::string message(int value) const override
    {
        switch (static_cast<errc>(value)) {
        case errc::invalid_version: return "invalid version";
        case errc::invalid_specifier: return "invalid version specifier";
        case errc::invalid_name: return "invalid project name";
        case errc::invalid_marker: return "invalid environment marker";
        case errc::invalid_requirement: return "invalid requirement";
        case errc::invalid_wheel_filename: return "invalid wheel filename";
        case errc::invalid_tag: return "invalid compatibility tag";
        case errc::invalid_requirements_file: return "invalid requirements file";
        case errc::requirements_include_cycle: return "requirements files include each other";
        case errc::unsupported: return "not supported";
        case errc::invalid_zip: return "invalid zip archive";
        case errc::unsafe_zip_path: return "unsafe path in zip archive";
        case errc::zip_limit_exceeded: return "zip archive exceeds a limit";
        case errc::invalid_url: return "invalid URL";
        case errc::invalid_index_page: return "invalid package index page";
        case errc::unsupported_api_version: return "unsupported package index API version";
        case errc::no_compatible_wheel: return "no compatible wheel";
        case errc::cache_locked: return "cache is locked by another process";
        case errc::corrupt_cache_entry: return "corrupt cache entry";
        case errc::not_a_cache: return "not a pkg cache directory";
        case errc::no_cache_directory: return "no cache directory";
        case errc::interpreter_not_found: return "Python interpreter not found";
        case errc::interpreter_query_failed: return "could not query the Python interpreter";
        case errc::venv_exists: return "virtual environment already exists";
        case errc::venv_target_not_empty: return "target is not empty and not a virtual environment";
        case errc::hash_mismatch: return "hash mismatch";
        case errc::record_mismatch: return "wheel RECORD does not match its files";
        case errc::invalid_wheel: return "invalid wheel";
        case errc::no_index_configured: return "no package index configured";
        case errc::project_not_found: return "project not found on any index";
        case errc::offline_miss: return "not available offline";
        case errc::file_collision: return "file belongs to another installed package";
        case errc::invalid_record: return "invalid RECORD of an installed package";
        case errc::invalid_entry_point: return "invalid entry point";
        case errc::environment_locked: return "environment is locked by another process";
        case errc::not_an_environment: return "not a Python environment";
        case errc::not_installed: return "package is not installed";
        case errc::requirement_not_pinned: return "requirement is not pinned";
        case errc::missing_hash: return "requirement has no hash";
        }
        return "unknown pkg error";
    }
};

}  // namespace

const std::error_category& engine_category() noexcept
{
    static const engine_category_impl instance;
    return instance;
}

}  // namespace pkg
