#include "http/http_options.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

namespace pkg::io {
namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

// Upper case first, as curl does for everything but http_proxy.
std::string env_either(const getenv_function& getenv, const char* upper, const char* lower_name)
{
    if (const char* v = getenv(upper); v != nullptr && *v != '\0') {
        return v;
    }
    if (const char* v = getenv(lower_name); v != nullptr && *v != '\0') {
        return v;
    }
    return {};
}

result<std::uint64_t> env_number(const getenv_function& getenv, const char* name,
                                 std::uint64_t fallback)
{
    const char* v = getenv(name);
    if (v == nullptr || *v == '\0') {
        return fallback;
    }
    std::string_view text = trim(v);
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    std::string(name) + "='" + v + "' is not a whole number", "environment");
    }
    return n;
}

}  // namespace

netrc netrc::parse(std::string_view text)
{
    netrc out;
    std::vector<std::string> tokens;
    std::istringstream in{std::string(text)};
    std::string line;
    bool in_macdef = false;
    while (std::getline(in, line)) {
        if (in_macdef) {
            // A macro body runs until an empty line.
            if (trim(line).empty()) {
                in_macdef = false;
            }
            continue;
        }
        std::istringstream words(line);
        std::string word;
        while (words >> word) {
            if (word.starts_with('#') && tokens.empty()) {
                break;
            }
            if (word == "macdef") {
                in_macdef = true;
                break;
            }
            tokens.push_back(word);
        }
    }
    entry* current = nullptr;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        const bool has_arg = i + 1 < tokens.size();
        if (t == "machine" && has_arg) {
            out.entries.push_back(entry{lower(tokens[++i]), {}});
            current = &out.entries.back();
        } else if (t == "default") {
            out.entries.push_back(entry{{}, {}});
            current = &out.entries.back();
        } else if ((t == "login" || t == "user") && has_arg) {
            ++i;
            if (current != nullptr) {
                current->creds.login = tokens[i];
            }
        } else if (t == "password" && has_arg) {
            ++i;
            if (current != nullptr) {
                current->creds.password = tokens[i];
            }
        } else if (t == "account" && has_arg) {
            ++i;
        }
    }
    return out;
}

result<netrc> netrc::load(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return netrc{};
        }
        return fail(system_error(errno, "open netrc", path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

std::optional<credentials> netrc::find(std::string_view host) const
{
    const std::string h = lower(host);
    for (const auto& e : entries) {
        if (!e.machine.empty() && e.machine == h) {
            return e.creds;
        }
    }
    for (const auto& e : entries) {
        if (e.machine.empty()) {
            return e.creds;
        }
    }
    return std::nullopt;
}

std::string proxy_settings::proxy_for(const url& target) const
{
    const std::string& proxy = target.scheme == "https" ? https_proxy : http_proxy;
    if (proxy.empty()) {
        return {};
    }
    const std::string host = lower(target.host_name());
    for (const auto& raw : no_proxy) {
        std::string_view pattern = trim(raw);
        if (pattern == "*") {
            return {};
        }
        if (pattern.empty()) {
            continue;
        }
        std::string p = lower(pattern);
        // An optional ":port" restricts the entry to that port (not for bare IPv6 literals).
        if (const auto colon = p.rfind(':');
            colon != std::string::npos && p.find(':') == colon && p.front() != '[') {
            if (p.substr(colon + 1) != std::to_string(target.port_number())) {
                continue;
            }
            p.erase(colon);
        }
        if (p.size() >= 2 && p.front() == '[' && p.back() == ']') {
            p = p.substr(1, p.size() - 2);
        }
        if (p.starts_with('.')) {
            p.erase(0, 1);
        }
        if (host == p || (host.size() > p.size() && host.ends_with(p) &&
                          host[host.size() - p.size() - 1] == '.')) {
            return {};
        }
    }
    return proxy;
}

result<http_options> http_options::from_environment(const getenv_function& getenv,
                                                     std::string user_agent)
{
    http_options o;
    o.user_agent = std::move(user_agent);
    auto timeout = env_number(getenv, "PKG_HTTP_TIMEOUT", 30);
    if (!timeout) {
        return fail(timeout.error());
    }
    o.read_timeout = std::chrono::seconds(*timeout);
    auto retries = env_number(getenv, "PKG_HTTP_RETRIES", o.retries);
    if (!retries) {
        return fail(retries.error());
    }
    o.retries = static_cast<unsigned>(std::min<std::uint64_t>(*retries, 100));
    auto concurrent = env_number(getenv, "PKG_CONCURRENT_DOWNLOADS", o.max_concurrent);
    if (!concurrent) {
        return fail(concurrent.error());
    }
    if (*concurrent == 0) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "PKG_CONCURRENT_DOWNLOADS='0' must be at least 1", "environment");
    }
    o.max_concurrent = static_cast<std::size_t>(*concurrent);
    o.per_host = std::min(o.per_host, o.max_concurrent);
    if (const char* v = getenv("SSL_CERT_FILE"); v != nullptr) {
        o.ca_file = v;
    }
    if (const char* v = getenv("SSL_CERT_DIR"); v != nullptr) {
        o.ca_dir = v;
    }
    o.proxy.http_proxy = env_either(getenv, "HTTP_PROXY", "http_proxy");
    o.proxy.https_proxy = env_either(getenv, "HTTPS_PROXY", "https_proxy");
    const std::string no_proxy = env_either(getenv, "NO_PROXY", "no_proxy");
    std::size_t start = 0;
    while (start <= no_proxy.size() && !no_proxy.empty()) {
        const auto comma = no_proxy.find(',', start);
        const auto item = trim(std::string_view(no_proxy).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!item.empty()) {
            o.proxy.no_proxy.emplace_back(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (const char* v = getenv("NETRC"); v != nullptr && *v != '\0') {
        o.netrc_path = v;
    } else if (const char* home = getenv("HOME"); home != nullptr && *home != '\0') {
        o.netrc_path = std::string(home) + "/.netrc";
    }
    return o;
}

}  // namespace pkg::io
