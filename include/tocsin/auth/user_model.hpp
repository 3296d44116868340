// tocsin::auth::UserModel and AnyUser — "the user model" (Django's get_user_model() and
// AUTH_USER_MODEL) whatever its C++ type: auth.User by default, a program's own model when the
// auth app's setting names it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tocsin/apps/registry.hpp"
#include "tocsin/auth/user.hpp"

namespace tocsin::auth {

/// One user of the user model, whatever its type: a handle to a `T` it owns (made from a value)
/// or to the caller's object (AnyUser::ref). Copies share that object.
class AnyUser {
  public:
    /// Owns `user`.
    template <UserModelType T>
    explicit AnyUser(T user)
        : self_(std::make_shared<Holder<T>>(std::make_shared<T>(std::move(user)))) {}
    /// Refers to `user`, which must outlive every copy of the handle: what login() and the
    /// signals' receivers change is changed in the caller's object.
    template <UserModelType T>
    [[nodiscard]] static AnyUser ref(T& user) {
        return AnyUser(
            std::make_shared<Holder<T>>(std::shared_ptr<T>(std::shared_ptr<T>{}, &user)));
    }

    /// The primary key (nullopt before the user is saved).
    [[nodiscard]] std::optional<std::int64_t> id() const { return self_->model().id; }
    /// The value of the model's username_field().
    [[nodiscard]] const std::string& username() const { return self_->username(); }
    /// Whether the user may log in (Django's is_active).
    [[nodiscard]] bool is_active() const { return self_->is_active(); }
    /// When the user last logged in.
    [[nodiscard]] const std::optional<db::Timestamp>& last_login() const {
        return self_->last_login();
    }
    /// The encoded password.
    [[nodiscard]] const std::string& password() const { return self_->password(); }
    /// tocsin::auth::check_password(user, raw): constant-time; an outdated hash is upgraded.
    [[nodiscard]] bool check_password(std::string_view raw) { return self_->check_password(raw); }
    /// tocsin::auth::set_password(user, raw) (nothing saved).
    void set_password(std::string_view raw) { self_->set_password(raw); }
    /// Sets last_login (nothing saved).
    void set_last_login(db::Timestamp when) { self_->set_last_login(when); }
    /// Saves the user (every field, or `update_fields`).
    void save(UpdateFields update_fields = {}) { self_->save(std::move(update_fields)); }
    /// The model's sender (Sender::of<T>()): what user_logged_in is sent with.
    [[nodiscard]] Sender sender() const { return self_->sender(); }
    /// The model's label ("auth.User").
    [[nodiscard]] std::string_view label() const { return self_->label(); }
    /// The user as a model instance (what code taking any model, such as the send observer's
    /// description of an instance, reads).
    [[nodiscard]] ModelBase& instance() const { return self_->model(); }
    /// The user as its model; throws std::invalid_argument when it is another model.
    template <UserModelType T>
    [[nodiscard]] T& as() const {
        if (sender() != Sender::of<T>()) {
            throw std::invalid_argument("tocsin::auth::AnyUser: the user is a " +
                                        std::string(label()) + ", not a " + std::string(T::label));
        }
        return *static_cast<Holder<T>&>(*self_).user;
    }

  private:
    struct Concept {
        Concept() = default;
        virtual ~Concept() = default;
        Concept(const Concept&) = delete;
        Concept& operator=(const Concept&) = delete;
        virtual ModelBase& model() = 0;
        [[nodiscard]] virtual const std::string& username() const = 0;
        [[nodiscard]] virtual bool is_active() const = 0;
        [[nodiscard]] virtual const std::optional<db::Timestamp>& last_login() const = 0;
        [[nodiscard]] virtual const std::string& password() const = 0;
        virtual bool check_password(std::string_view raw) = 0;
        virtual void set_password(std::string_view raw) = 0;
        virtual void set_last_login(db::Timestamp when) = 0;
        virtual void save(UpdateFields update_fields) = 0;
        [[nodiscard]] virtual Sender sender() const = 0;
        [[nodiscard]] virtual std::string_view label() const = 0;
    };
    template <class T>
    struct Holder final : Concept {
        explicit Holder(std::shared_ptr<T> u) : user(std::move(u)) {}
        ModelBase& model() override { return *user; }
        const std::string& username() const override { return (*user).*(T::username_field()); }
        bool is_active() const override { return user->is_active; }
        const std::optional<db::Timestamp>& last_login() const override { return user->last_login; }
        const std::string& password() const override { return user->password; }
        bool check_password(std::string_view raw) override {
            return auth::check_password(*user, raw);
        }
        void set_password(std::string_view raw) override { auth::set_password(*user, raw); }
        void set_last_login(db::Timestamp when) override { user->last_login = when; }
        void save(UpdateFields update_fields) override {
            user->save(SaveOptions{.update_fields = std::move(update_fields)});
        }
        Sender sender() const override { return Sender::of<T>(); }
        std::string_view label() const override { return T::label; }
        std::shared_ptr<T> user;
    };
    explicit AnyUser(std::shared_ptr<Concept> self) : self_(std::move(self)) {}
    std::shared_ptr<Concept> self_;
};

/// What createsuperuser and create_user() set.
struct NewUser {
    std::string username;
    std::string email{};
    /// The raw password; nullopt: an unusable one.
    std::optional<std::string> password{};
    bool is_staff = false;
    bool is_superuser = false;
};

/// The user model, whatever its type (Django's get_user_model()).
class UserModel {
  public:
    UserModel() = default;
    virtual ~UserModel();
    UserModel(const UserModel&) = delete;
    UserModel& operator=(const UserModel&) = delete;

    /// "auth.User", or the program's model.
    [[nodiscard]] virtual std::string_view label() const = 0;
    /// Sender::of<T>().
    [[nodiscard]] virtual Sender sender() const = 0;
    /// The user whose username_field() is `username`, or nullopt.
    [[nodiscard]] virtual std::optional<AnyUser> get_by_username(
        std::string_view username) const = 0;
    /// The user with primary key `id`, or nullopt.
    [[nodiscard]] virtual std::optional<AnyUser> get(std::int64_t id) const = 0;
    /// Saves a new user (Django's create_user / create_superuser): the password hashed (or
    /// unusable), date_joined now when the model has it. Throws std::invalid_argument when the
    /// username is empty or is_staff / is_superuser / email are asked of a model without them.
    virtual AnyUser create_user(const NewUser& user) const = 0;
};

namespace detail {
/// Registers `model` under its label (what register_user_model<T>() calls).
void register_user_model(std::shared_ptr<const UserModel> model);

template <class T, class = void>
struct has_email : std::false_type {};
template <class T>
struct has_email<T, std::void_t<decltype(std::declval<T&>().email)>>
    : std::is_same<decltype(std::declval<T&>().email), std::string> {};

template <UserModelType T>
class UserModelOf final : public UserModel {
  public:
    std::string_view label() const override { return T::label; }
    Sender sender() const override { return Sender::of<T>(); }
    std::optional<AnyUser> get_by_username(std::string_view username) const override {
        auto found =
            T::objects().filter(where(T::username_field()) == std::string(username)).first();
        if (!found) {
            return std::nullopt;
        }
        return AnyUser(std::move(*found));
    }
    std::optional<AnyUser> get(std::int64_t id) const override {
        auto found = T::objects().filter(where(&ModelBase::id) == id).first();
        if (!found) {
            return std::nullopt;
        }
        return AnyUser(std::move(*found));
    }
    AnyUser create_user(const NewUser& n) const override {
        if (n.username.empty()) {
            throw std::invalid_argument("The given username must be set");
        }
        T user{};
        if constexpr (has_email<T>::value) {
            user.email = n.email;
        } else if (!n.email.empty()) {
            throw std::invalid_argument(std::string(T::label) + " has no email field");
        }
        // After the email: the username field may be the email member.
        user.*(T::username_field()) = n.username;
        if constexpr (requires {
                          user.is_staff = true;
                          user.is_superuser = true;
                      }) {
            user.is_staff = n.is_staff;
            user.is_superuser = n.is_superuser;
        } else if (n.is_staff || n.is_superuser) {
            throw std::invalid_argument(std::string(T::label) +
                                        " has no is_staff / is_superuser fields");
        }
        if constexpr (requires { user.date_joined = db::Timestamp{}; }) {
            user.date_joined =
                std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
        }
        if (n.password) {
            set_password(user, *n.password);
        } else {
            set_unusable_password(user);
        }
        return AnyUser(T::objects().create(std::move(user)));
    }
};
}  // namespace detail

/// Makes `T` known to the auth app as a possible user model (auth::User is known already); the
/// auth app's setting then chooses it by label. Call it before setup(), e.g. in the constructor
/// of the app that lists `T`. Registering a label again replaces the earlier type.
template <UserModelType T>
void register_user_model() {
    detail::register_user_model(std::make_shared<const detail::UserModelOf<T>>());
}

/// The label the installed auth app's setting names (Django's AUTH_USER_MODEL; "auth.User" when
/// the auth app is not installed or not set up).
[[nodiscard]] std::string user_model_label();

/// The user model (Django's get_user_model()). Throws ImproperlyConfigured ("AUTH_USER_MODEL
/// refers to model 'x' that has not been installed") when no installed app lists it or no
/// register_user_model<T>() made its type known.
[[nodiscard]] const UserModel& get_user_model();

}  // namespace tocsin::auth
