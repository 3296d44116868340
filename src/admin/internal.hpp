// The admin's internal types: a parsed request, a response, the context of one page, and the
// helpers each part of the admin uses (src/admin/*.cpp). Not installed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/admin/app.hpp"
#include "tocsin/admin/html.hpp"
#include "tocsin/auth.hpp"
#include "tocsin/models/model_info.hpp"

namespace tocsin::admin::detail {

/// Names and values of a query string or a urlencoded body, in order (a name may repeat).
using Fields = std::vector<std::pair<std::string, std::string>>;

/// One request as the pages see it. The query and the form are parsed separately (a form
/// field never comes from the URL).
struct Request {
    std::string method;  ///< "GET", "POST", …
    std::string path;    ///< the decoded path, without the query
    std::string target;  ///< the path and query as sent
    Fields query;
    Fields form;  ///< a urlencoded POST body
    std::map<std::string, std::string, std::less<>> cookies;
    std::string origin;  ///< the Origin header, "" when absent
    std::string host;    ///< the Host header
    /// The X-CSRFToken header (Django's CSRF_HEADER_NAME), "" when absent: the token of a POST
    /// without the form field (a script's request).
    std::string csrf_header;

    /// The first value of `name` in the query, or "".
    [[nodiscard]] std::string get(std::string_view name) const;
    /// The first value of `name` in the form, or "".
    [[nodiscard]] std::string post(std::string_view name) const;
    /// Every value of `name` in the form.
    [[nodiscard]] std::vector<std::string> post_all(std::string_view name) const;
    /// Whether the form has `name`.
    [[nodiscard]] bool posted(std::string_view name) const;
};

/// What a page answers.
struct Response {
    int status = 200;
    std::string content_type = "text/html; charset=utf-8";
    std::string body;
    std::string location;                  ///< a redirect's target ("" when none)
    std::vector<std::string> set_cookies;  ///< Set-Cookie values
};

/// The context of one page: the settings, the session, the logged-in staff user.
struct Context {
    const AdminSettings* settings = nullptr;
    std::unique_ptr<auth::SessionStore> session;
    std::optional<auth::AnyUser> user;  ///< a logged-in, active staff user, or none
    std::string csrf_token;             ///< the token every form of the page carries
    /// The observer of the sends (the signals panel), or null when the live log is off.
    class SignalMonitor* monitor = nullptr;
};

// ---------------------------------------------------------------- http.cpp
/// `text` with %XX and '+' decoded; nullopt for a malformed escape.
[[nodiscard]] std::optional<std::string> url_decode(std::string_view text);
/// `text` percent-encoded for a query value.
[[nodiscard]] std::string url_encode(std::string_view text);
/// The pairs of a query string or urlencoded body; malformed pairs are left out.
[[nodiscard]] Fields parse_fields(std::string_view text);
/// The cookies of a Cookie header.
[[nodiscard]] std::map<std::string, std::string, std::less<>> parse_cookies(
    std::string_view header);
/// A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/; `max_age` < 0 deletes it.
[[nodiscard]] std::string cookie(std::string_view name, std::string_view value, long long max_age);
/// `next` when it is a path of this site ("/…", not "//…", no scheme, no backslash, no control
/// character), else `fallback`: no open redirect.
[[nodiscard]] std::string safe_next(std::string_view next, std::string_view fallback);
/// A redirect to `location` (a path of this site).
[[nodiscard]] Response redirect(std::string location);

// ---------------------------------------------------------------- csrf.cpp
/// The cookie holding the CSRF token and the form field carrying it (Django's names).
inline constexpr std::string_view csrf_cookie_name = "csrftoken";
inline constexpr std::string_view csrf_field_name = "csrfmiddlewaretoken";
/// Characters of the secret the cookie holds (Django's CSRF_SECRET_LENGTH), of a masked token
/// (CSRF_TOKEN_LENGTH: a mask, then the secret ciphered with it) and the cookie's age (a year).
inline constexpr std::size_t csrf_token_length = 32;
inline constexpr std::size_t csrf_masked_length = 64;
inline constexpr long long csrf_token_age = 31449600;
/// The characters of secrets, masks and tokens (Django's CSRF_ALLOWED_CHARS).
inline constexpr std::string_view csrf_allowed_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Django's _mask_cipher_secret: `mask` (32 allowed characters; a fresh random one when empty)
/// followed by each character of `secret` shifted by the mask's (mod 62). A page's forms carry
/// this, never the secret itself, so the bytes of a compressed response change every time
/// (BREACH).
[[nodiscard]] std::string csrf_mask_cipher_secret(std::string_view secret,
                                                  std::string_view mask = {});
/// Django's _unmask_cipher_token: the secret of a 64-character masked token.
[[nodiscard]] std::string csrf_unmask_cipher_token(std::string_view token);
/// Django's _check_token_format: "" for a token of 32 or 64 allowed characters, else why not
/// ("has incorrect length", "has invalid characters").
[[nodiscard]] std::string csrf_token_format_error(std::string_view token);
/// Django's _does_token_match: `token` (a secret, or masked) is `secret` (constant-time).
[[nodiscard]] bool csrf_token_matches(std::string_view token, std::string_view secret);
/// The token for the forms of this response: the request's secret (from its cookie; a masked
/// cookie of an older version is unmasked and set again as its secret) or a new one set on the
/// response, masked afresh.
[[nodiscard]] std::string csrf_token_of(const Request& request, Response& response);
/// Why a POST fails the CSRF check ("" when it passes), in Django's words: an Origin header
/// must name this host, the cookie must hold a well-formed secret (or masked token), and the
/// form's token, masked or not, must match it (constant-time).
[[nodiscard]] std::string csrf_failure(const Request& request);
/// The hidden input carrying the token.
[[nodiscard]] Html csrf_input(const Context& context);

// ---------------------------------------------------------------- session.cpp
/// The session cookie's name (Django's).
inline constexpr std::string_view session_cookie_name = "sessionid";
/// Loads the request's session and its staff user into `context`.
void load_user(const Request& request, Context& context);
/// The login page (GET) and the login itself (POST).
[[nodiscard]] Response login_page(const Request& request, Context& context);
/// Logs out (POST) and shows the logged-out page.
[[nodiscard]] Response logout_page(const Request& request, Context& context);
/// A message shown once on the next page (Django's messages framework, in the session).
void add_message(Context& context, const std::string& text);
/// The message waiting, if any (it is then gone).
[[nodiscard]] std::string take_message(Context& context);
/// Whether `user` may use the admin: active and is_staff.
[[nodiscard]] bool is_staff(const auth::AnyUser& user, const std::string& database);

// ---------------------------------------------------------------- layout.cpp
/// A whole page: the header (user, log out), the breadcrumbs, a waiting message, `body`.
[[nodiscard]] Response page(Context& context, std::string_view title, const Html& body,
                            int status = 200);
/// An error page with `status` and `message` (escaped).
[[nodiscard]] Response error_page(Context& context, int status, std::string_view message);
/// The static asset at `name` ("admin.css", "admin.js"), or nullopt.
[[nodiscard]] std::optional<Response> asset(std::string_view name);

// ---------------------------------------------------------------- objects.cpp
/// The installed models the admin shows (not auto-created, not excluded by `settings`), in app
/// order.
[[nodiscard]] std::vector<const ModelInfo*> admin_models(const AdminSettings& settings);
/// The model the admin shows of app `app` whose lower-cased name is `model`, or null.
[[nodiscard]] const ModelInfo* find_admin_model(const AdminSettings& settings, std::string_view app,
                                                std::string_view model);
/// "/admin/<app>/<model>/".
[[nodiscard]] std::string model_url(const ModelInfo& info);
/// The object of `info` with `id`, or null.
[[nodiscard]] std::shared_ptr<ModelBase> load_object(const ModelInfo& info, std::int64_t id,
                                                     const std::string& database);
/// What an object is called on the pages: its first unique text field, else its "name" or
/// "title" field, else "<Model> object (<id>)" (Django's default __str__).
[[nodiscard]] std::string object_name(const ModelInfo& info, const ModelBase& object);
/// "first name" from "first_name" ("author" from "Author"), the first letter upper-cased when
/// `capital`, else lower-cased (Django's verbose_name).
[[nodiscard]] std::string verbose(std::string_view name, bool capital = false);
/// A field's value as the pages show it (a key as its object's name).
[[nodiscard]] std::string display_value(const FieldInfo& field, const ModelBase& object,
                                        const std::string& database);
/// Microseconds since the epoch as "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC).
[[nodiscard]] std::string format_timestamp(std::int64_t micros);
/// The inverse of format_timestamp ("T" or " " between date and time, seconds optional).
[[nodiscard]] std::optional<std::int64_t> parse_timestamp(std::string_view text);

// ---------------------------------------------------------------- model_pages.cpp
/// The index: every app and its models.
[[nodiscard]] Response index_page(const Request& request, Context& context);
/// The pages of one model: "" (list), "add", "<id>/change", "<id>/delete".
[[nodiscard]] Response model_page(const Request& request, Context& context, const ModelInfo& info,
                                  std::string_view rest);

// ---------------------------------------------------------------- forms.cpp
/// One field of a model's form, with what was typed and the error beside it.
struct FormField {
    std::string name;                          ///< the input's name (the field's)
    const FieldInfo* field = nullptr;          ///< a column, or
    const ManyToManyInfo* relation = nullptr;  ///< a many-to-many relation
    std::string text;                          ///< the value shown in a text input
    std::vector<std::int64_t> selected;        ///< the ids chosen in a select
    bool checked = false;                      ///< a checkbox
    std::string error;                         ///< shown beside the field
    bool password = false;                     ///< the user model's password: typed raw
};
/// A model's form: its fields, and errors not tied to one field.
struct Form {
    const ModelInfo* info = nullptr;
    std::vector<FormField> fields;
    std::string error;
    [[nodiscard]] bool valid() const;
};
/// The form of `info` filled from `object` (null: a new object's defaults).
[[nodiscard]] Form form_from_object(const ModelInfo& info, const ModelBase* object,
                                    const std::string& database);
/// The form of `info` filled from a POST, each value checked (types, choices, unique values).
/// `id`: the object changed (excluded from the unique checks), nullopt when adding.
[[nodiscard]] Form form_from_post(const ModelInfo& info, const Request& request,
                                  std::optional<std::int64_t> id, const std::string& database);
/// Writes a valid form into `object` and saves it through the model layer (pre_save, the
/// INSERT or UPDATE, post_save; then m2m_changed for the relations), in one transaction. A
/// database error (a unique violation found only by the database) is put in `form.error`
/// and nothing is kept: returns false.
[[nodiscard]] bool save_form(Form& form, ModelBase& object, const std::string& database);
/// The form as HTML inputs (values escaped, errors beside their field).
[[nodiscard]] Html render_form(const Form& form, const std::string& database,
                               std::size_t max_choices);

}  // namespace tocsin::admin::detail
