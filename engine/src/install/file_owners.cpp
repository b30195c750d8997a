// installer::file_owners: which installed distribution's RECORD lists a path.

#include <deque>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "install/install_wheel.hpp"
#include "install/installed_record.hpp"

namespace pkg::installer {

struct file_owners::impl {
    mutable std::shared_mutex mutex;
    // Never shrinks, so `owner_of` pointers stay valid after `forget`.
    std::deque<installed_dist> dists;
    struct owner_entry {
        const installed_dist* owner = nullptr;
        std::string sha256;
    };
    std::unordered_map<std::string, owner_entry> owner_by_path;
};

file_owners::file_owners() : impl_(std::make_unique<impl>()) {}
file_owners::~file_owners() = default;
file_owners::file_owners(file_owners&&) noexcept = default;
file_owners& file_owners::operator=(file_owners&&) noexcept = default;

result<file_owners> file_owners::build(const std::vector<installed_dist>& dists)
{
    file_owners out;
    for (const auto& dist : dists) {
        if (dist.dist_info.extension() != ".dist-info") {
            continue;  // .egg-info: no RECORD, owns nothing pkg knows of
        }
        std::error_code ec;
        if (!std::filesystem::exists(dist.dist_info / "RECORD", ec)) {
            continue;
        }
        auto files = read_installed_record(dist.dist_info);
        if (!files) {
            return fail(std::move(files.error()));
        }
        const installed_dist* owner = &out.impl_->dists.emplace_back(dist);
        for (const auto& f : *files) {
            // The first RECORD to list a path keeps it (pip-made environments may have two
            // RECORDs listing one file; pkg never writes a second one).
            out.impl_->owner_by_path.emplace(f.path.native(), impl::owner_entry{owner, f.sha256});
        }
    }
    return out;
}

const installed_dist* file_owners::owner_of(const std::filesystem::path& path) const
{
    std::shared_lock lock(impl_->mutex);
    auto it = impl_->owner_by_path.find(path.native());
    return it == impl_->owner_by_path.end() ? nullptr : it->second.owner;
}

std::vector<file_claim_conflict> file_owners::claim(const installed_dist& dist,
                                                   const std::vector<owned_file>& files)
{
    std::unique_lock lock(impl_->mutex);
    std::vector<file_claim_conflict> shared;
    const installed_dist* owner = &impl_->dists.emplace_back(dist);
    for (const auto& f : files) {
        auto [it, is_new] =
            impl_->owner_by_path.emplace(f.path.native(), impl::owner_entry{owner, f.sha256});
        if (!is_new && it->second.owner != owner) {
            const bool same = !f.sha256.empty() && f.sha256 == it->second.sha256;
            shared.push_back(file_claim_conflict{f.path, *it->second.owner, same});
        }
    }
    return shared;
}

void file_owners::forget(const std::string& normalized_name)
{
    std::unique_lock lock(impl_->mutex);
    std::erase_if(impl_->owner_by_path,
                  [&](const auto& entry) {
                      return entry.second.owner->normalized_name == normalized_name;
                  });
}

}  // namespace pkg::installer
