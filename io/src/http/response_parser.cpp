#include "http/response_parser.hpp"

#include "http/http_errc.hpp"

#include <llhttp.h>

#include <algorithm>
#include <cctype>

namespace pkg::io {
namespace {

// A server that streams endless headers must not grow our memory without bound.
constexpr std::size_t max_head_bytes = 64 * 1024;

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::optional<std::string_view> response_head::header(std::string_view name) const
{
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

struct response_parser::impl {
    llhttp_t parser{};
    llhttp_settings_t settings{};
    response_head head;
    std::string field;
    std::string value;
    bool in_value = false;
    bool expect_no_body = false;
    bool has_head = false;
    bool is_interim = false;  // inside a 1xx response
    bool is_complete = false;
    std::size_t head_bytes = 0;
    std::uint64_t body_bytes = 0;
    std::vector<std::span<const std::byte>> body;

    static impl& of(llhttp_t* p) { return *static_cast<impl*>(p->data); }

    int fail_head_too_large()
    {
        llhttp_set_error_reason(&parser, "response head larger than 64 KiB");
        return HPE_USER;
    }

    bool count_head(std::size_t n)
    {
        head_bytes += n;
        return head_bytes <= max_head_bytes;
    }

    void flush_header()
    {
        if (in_value || !field.empty()) {
            // Trailing whitespace is not part of the value (RFC 9110 §5.5).
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
                value.pop_back();
            }
            head.headers.emplace_back(std::move(field), std::move(value));
            field.clear();
            value.clear();
        }
        in_value = false;
    }

    void start_message()
    {
        const std::string final_url = std::move(head.final_url);
        head = response_head{};
        head.final_url = final_url;
        field.clear();
        value.clear();
        in_value = false;
        head_bytes = 0;
    }

    impl()
    {
        llhttp_settings_init(&settings);
        settings.on_message_begin = [](llhttp_t* p) {
            of(p).start_message();
            return 0;
        };
        settings.on_status = [](llhttp_t* p, const char* at, std::size_t n) {
            auto& self = of(p);
            if (!self.count_head(n)) {
                return self.fail_head_too_large();
            }
            self.head.reason.append(at, n);
            return 0;
        };
        settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
            auto& self = of(p);
            if (!self.count_head(n)) {
                return self.fail_head_too_large();
            }
            // Callbacks may split a name across reads: a name after a value starts a new header.
            if (self.in_value) {
                self.flush_header();
            }
            self.field.append(at, n);
            return 0;
        };
        settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
            auto& self = of(p);
            if (!self.count_head(n)) {
                return self.fail_head_too_large();
            }
            self.in_value = true;
            self.value.append(at, n);
            return 0;
        };
        settings.on_headers_complete = [](llhttp_t* p) {
            auto& self = of(p);
            self.flush_header();
            const int status = llhttp_get_status_code(p);
            self.head.status = status;
            if (status >= 100 && status < 200 && status != 101) {
                self.is_interim = true;
                return 0;
            }
            self.is_interim = false;
            self.has_head = true;
            if ((p->flags & F_CONTENT_LENGTH) != 0) {
                self.head.content_length = p->content_length;
            }
            return self.expect_no_body ? 1 : 0;
        };
        settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
            auto& self = of(p);
            if (!self.is_interim) {
                self.body.emplace_back(reinterpret_cast<const std::byte*>(at), n);
                self.body_bytes += n;
            }
            return 0;
        };
        settings.on_message_complete = [](llhttp_t* p) {
            auto& self = of(p);
            if (self.is_interim) {
                self.is_interim = false;
                return 0;  // the real response follows on the same connection
            }
            self.is_complete = true;
            return static_cast<int>(HPE_PAUSED);
        };
        begin(false);
    }

    void begin(bool no_body)
    {
        llhttp_init(&parser, HTTP_RESPONSE, &settings);
        parser.data = this;
        expect_no_body = no_body;
        has_head = false;
        is_interim = false;
        is_complete = false;
        body_bytes = 0;
        body.clear();
        start_message();
        head.final_url.clear();
    }
};

response_parser::response_parser() : impl_(std::make_unique<impl>()) {}
response_parser::~response_parser() = default;

void response_parser::begin(bool expect_no_body) { impl_->begin(expect_no_body); }

result<response_parser::step> response_parser::feed(std::span<const std::byte> data)
{
    auto& s = *impl_;
    s.body.clear();
    step out;
    if (s.is_complete) {
        out.reached = state::message_complete;
        return out;
    }
    const bool had_head = s.has_head;
    const char* begin = reinterpret_cast<const char*>(data.data());
    const auto err = llhttp_execute(&s.parser, begin, data.size());
    if (err == HPE_OK) {
        out.consumed_bytes = data.size();
    } else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        const char* pos = llhttp_get_error_pos(&s.parser);
        out.consumed_bytes = pos == nullptr ? data.size() : static_cast<std::size_t>(pos - begin);
        if (err == HPE_PAUSED_UPGRADE) {
            s.is_complete = s.has_head;
        }
    } else {
        const char* pos = llhttp_get_error_pos(&s.parser);
        const auto offset = pos == nullptr ? 0 : static_cast<std::size_t>(pos - begin);
        const char* reason = llhttp_get_error_reason(&s.parser);
        return fail(http_errc::bad_response,
                    std::string("malformed HTTP response: ") + llhttp_errno_name(err) + " (" +
                        (reason == nullptr ? "" : reason) + ") at byte " +
                        std::to_string(offset) + " of this read");
    }
    out.head_completed = s.has_head && !had_head;
    out.reached = s.is_complete ? state::message_complete : state::need_more;
    out.body = s.body;
    return out;
}

bool response_parser::finish()
{
    auto& s = *impl_;
    if (s.is_complete) {
        return true;
    }
    if (llhttp_get_errno(&s.parser) != HPE_OK) {
        return false;
    }
    (void)llhttp_finish(&s.parser);
    return s.is_complete;
}

const response_head& response_parser::head() const { return impl_->head; }
bool response_parser::has_head() const { return impl_->has_head; }
bool response_parser::should_keep_alive() const
{
    return impl_->is_complete && llhttp_should_keep_alive(&impl_->parser) != 0;
}
bool response_parser::needs_eof() const { return llhttp_message_needs_eof(&impl_->parser) != 0; }
std::uint64_t response_parser::body_bytes() const { return impl_->body_bytes; }

}  // namespace pkg::io
