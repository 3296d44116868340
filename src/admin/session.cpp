// The admin's logins (Django's admin LoginView / LogoutView on tocsin's auth app): the session
// cookie names a database session; only active staff users get in. Every login goes through
// authenticate() and login(), so user_login_failed, user_logged_in and user_logged_out fire.
#include <string>

#include "internal.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin::admin::detail {

namespace {
constexpr std::string_view message_key = "_admin_message";
constexpr std::string_view login_error =
    "Please enter the correct username and password for a staff account. Note that both fields "
    "may be case-sensitive.";

Html login_form(const Context& context, std::string_view username, std::string_view next,
                std::string_view error) {
    Html h;
    h << Raw("<div class=\"login\"><h1>Log in</h1>");
    if (!error.empty()) {
        h << Raw("<p class=\"errornote\" id=\"login-error\">") << error << Raw("</p>");
    }
    h << Raw("<form method=\"post\" action=\"/admin/login/\" id=\"login-form\">")
      << csrf_input(context);
    h << Raw(
        "<p><label for=\"id_username\">Username:</label> <input type=\"text\" "
        "name=\"username\" id=\"id_username\" autofocus required maxlength=\"150\"");
    h.attr("value", username) << Raw("></p>");
    h << Raw(
        "<p><label for=\"id_password\">Password:</label> <input type=\"password\" "
        "name=\"password\" id=\"id_password\" required></p>");
    h << Raw("<input type=\"hidden\" name=\"next\"");
    h.attr("value", next) << Raw(">");
    h << Raw("<p><input type=\"submit\" value=\"Log in\" id=\"login-submit\"></p></form></div>");
    return h;
}
}  // namespace

bool is_staff(const auth::AnyUser& user, const std::string& database) {
    if (!user.is_active() || !user.id()) {
        return false;
    }
    const ModelInfo* info = find_model_info(user.sender());
    const FieldInfo* field = info != nullptr ? info->field("is_staff") : nullptr;
    if (field == nullptr) {
        return false;
    }
    const auto object = load_object(*info, *user.id(), database);
    if (!object) {
        return false;
    }
    const auto value = field->get(*object);
    return value.type() == db::ValueType::integer && value.as_integer() != 0;
}

void load_user(const Request& request, Context& context) {
    const auto it = request.cookies.find(session_cookie_name);
    std::optional<std::string> key;
    if (it != request.cookies.end() && !it->second.empty()) {
        key = it->second;
    }
    context.session = std::make_unique<auth::SessionStore>(key, context.settings->database);
    if (!key) {
        return;
    }
    if (auto user = auth::get_user(*context.session);
        user && is_staff(*user, context.settings->database)) {
        context.user = std::move(user);
    }
}

void add_message(Context& context, const std::string& text) {
    if (context.session) {
        context.session->set(std::string(message_key), text);
        context.session->save();
    }
}

std::string take_message(Context& context) {
    if (!context.session || !context.session->session_key() ||
        !context.session->contains(message_key)) {
        return {};
    }
    auto text = context.session->get(message_key).value_or("");
    context.session->erase(message_key);
    context.session->save();
    return text;
}

Response login_page(const Request& request, Context& context) {
    const std::string next =
        safe_next(request.method == "POST" ? request.post("next") : request.get("next"), "/admin/");
    if (request.method != "POST") {
        if (context.user) {
            return redirect(next);
        }
        return page(context, "Log in", login_form(context, "", next, ""));
    }
    const std::string username = request.post("username");
    auth::Credentials credentials{{"username", username}, {"password", request.post("password")}};
    auto user = auth::authenticate(credentials, context.session.get());
    if (!user || !is_staff(*user, context.settings->database)) {
        return page(context, "Log in", login_form(context, username, next, login_error), 200);
    }
    auth::login(*context.session, *user);
    context.user = std::move(user);
    auto response = redirect(next);
    // A new CSRF token for the new session (Django's rotate_token on login).
    response.set_cookies.push_back(
        cookie(csrf_cookie_name, auth::random_string(csrf_token_length), csrf_token_age));
    response.set_cookies.push_back(cookie(session_cookie_name,
                                          context.session->session_key().value_or(""),
                                          context.session->expiry_age().count()));
    return response;
}

Response logout_page(const Request& request, Context& context) {
    if (request.method != "POST") {
        return error_page(context, 405, "Log out with the button of the page header.");
    }
    auth::logout(*context.session);
    context.user.reset();
    Html body;
    body << Raw(
        "<h1>Logged out</h1><p>Thanks for spending some quality time with the web site "
        "today.</p><p><a href=\"/admin/login/\">Log in again</a></p>");
    auto response = page(context, "Logged out", body);
    response.set_cookies.push_back(cookie(session_cookie_name, "", -1));
    return response;
}

}  // namespace tocsin::admin::detail
