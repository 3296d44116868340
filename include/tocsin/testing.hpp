// tocsin/testing.hpp — helpers for a program's own tests (any test framework): capture the
// on_commit callbacks of a block and run them (Django's captureOnCommitCallbacks), count the
// queries of a block (Django's assertNumQueries), record the sends of a signal (a spy), and mute
// every model signal for a block (factory_boy's mute_signals). See docs/testing.md.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tocsin/db/default_alias.hpp"
#include "tocsin/models.hpp"

namespace tocsin::testing {

/// What a failed check of this header throws (the message says what was expected and found).
class AssertionError : public std::logic_error {
  public:
    using std::logic_error::logic_error;
};

// ------------------------------------------------------------------ on_commit callbacks

/// One on_commit callback captured by CaptureOnCommitCallbacks.
struct CapturedCallback {
    std::function<void()> fn;  ///< the callback
    bool robust = false;       ///< registered robust (on_commit_robust, commit-time receivers)
    std::string name;          ///< OnCommitOptions::name ("" if none)

    /// Runs it; a robust callback's exception is logged (db::log, "tocsin.db") instead.
    void operator()() const;
};

/// Options of CaptureOnCommitCallbacks (Django's `using` and `execute`).
struct CaptureOptions {
    std::string alias{db::default_alias};  ///< the database whose callbacks are captured
    /// capture_on_commit_callbacks() only: run them when its block returns (Django's
    /// execute=True). The class never runs callbacks from its destructor (a destructor must not
    /// throw a callback's exception): call execute() before the capture ends.
    bool execute = false;
};

/// While it lives, every on_commit callback registered on this thread for `options.alias` (by
/// on_commit(), on_commit_robust(), or a commit-time receiver) is captured instead of waiting for
/// a commit or running at once: none runs unless execute() runs it. Nests (the innermost
/// capture of an alias takes them). Django's captureOnCommitCallbacks, for code that is not in
/// a transaction that a test could commit.
class CaptureOnCommitCallbacks {
  public:
    explicit CaptureOnCommitCallbacks(CaptureOptions options = {});
    /// Stops capturing; what was captured and not executed is dropped.
    ~CaptureOnCommitCallbacks();
    CaptureOnCommitCallbacks(const CaptureOnCommitCallbacks&) = delete;
    CaptureOnCommitCallbacks& operator=(const CaptureOnCommitCallbacks&) = delete;

    /// The callbacks captured so far, in registration order.
    [[nodiscard]] const std::vector<CapturedCallback>& callbacks() const noexcept {
        return callbacks_;
    }
    /// Runs the callbacks captured and not run yet, in order, and then those they register,
    /// until none is left (Django's execute=True). A non-robust callback's exception
    /// propagates; the callbacks after it stay pending.
    void execute();

  private:
    friend struct CommitCaptureAccess;
    std::string alias_;
    std::vector<CapturedCallback> callbacks_;
    std::size_t executed_ = 0;
    CaptureOnCommitCallbacks* previous_ = nullptr;
};

/// Runs `block` while capturing the on_commit callbacks of `options.alias`, then, with
/// `options.execute`, runs them (and those they register); returns every callback captured.
/// `auto callbacks = capture_on_commit_callbacks([&] { order.save(); }, {.execute = true});`
template <class F>
std::vector<CapturedCallback> capture_on_commit_callbacks(F&& block, CaptureOptions options = {}) {
    const bool execute = options.execute;
    CaptureOnCommitCallbacks capture(std::move(options));
    std::forward<F>(block)();
    if (execute) {
        capture.execute();
    }
    return capture.callbacks();
}

// ------------------------------------------------------------------ queries

/// While it lives, counts every SQL statement run on this thread's connection to `alias` and
/// keeps its SQL (with the values bound), for the failure message of assert_num_queries (Django's
/// CaptureQueriesContext). Statements run by triggers are not counted; BEGIN, SAVEPOINT and
/// COMMIT are. Every engine (db::Backend::set_statement_observer); it opens the connection.
/// Nests. The connection must outlive it.
class CaptureQueries {
  public:
    explicit CaptureQueries(std::string_view alias = db::default_alias);
    ~CaptureQueries();
    CaptureQueries(const CaptureQueries&) = delete;
    CaptureQueries& operator=(const CaptureQueries&) = delete;

    /// The number of statements run so far.
    [[nodiscard]] std::size_t count() const noexcept { return queries_.size(); }
    /// Their SQL, in order.
    [[nodiscard]] const std::vector<std::string>& queries() const noexcept { return queries_; }
    /// "1. <sql>\n2. <sql>\n…".
    [[nodiscard]] std::string numbered() const;

  private:
    friend struct QueryTraceAccess;
    void* handle_ = nullptr;  // the db::Backend observed
    std::vector<std::string> queries_;
};

/// Runs `block` and throws AssertionError unless it ran exactly `expected` statements on `alias`
/// (Django's assertNumQueries): "3 != 2 : 3 queries executed, 2 expected\nCaptured queries
/// were:\n1. …".
template <class F>
void assert_num_queries(std::size_t expected, F&& block,
                        std::string_view alias = db::default_alias) {
    std::string message;
    {
        CaptureQueries queries(alias);
        std::forward<F>(block)();
        if (queries.count() != expected) {
            message = std::to_string(queries.count()) + " != " + std::to_string(expected) + " : " +
                      std::to_string(queries.count()) + " queries executed, " +
                      std::to_string(expected) + " expected\nCaptured queries were:\n" +
                      queries.numbered();
        }
    }
    if (!message.empty()) {
        throw AssertionError(message);
    }
}

// ------------------------------------------------------------------ signal spy

namespace detail {
/// An event of the model layer owning what it refers to (the alias; pointers valid during the
/// send only are cleared).
template <class Event>
struct OwnedEvent {
    explicit OwnedEvent(const Event& e) : database(e.database), event(e) {
        if constexpr (requires { event.database = std::string_view{}; }) {
            event.database = database;
        }
        if constexpr (std::is_same_v<Event, SaveEvent>) {
            event.tracking = nullptr;
        } else if constexpr (std::is_same_v<Event, DeleteEvent>) {
            event.origin.instance = nullptr;
            event.origin.queryset = nullptr;
        } else if constexpr (std::is_same_v<Event, InitEvent>) {
            event.row = nullptr;
        }
    }
    OwnedEvent(const OwnedEvent&) = delete;
    OwnedEvent& operator=(const OwnedEvent&) = delete;
    ~OwnedEvent() = default;
    std::string database;
    Event event;
};
template <>
struct OwnedEvent<InitEvent> {
    explicit OwnedEvent(const InitEvent& /*e*/) {}
    InitEvent event{};  ///< the row is not kept
};

/// How a spy keeps an argument of type `A`: a copy when it can be copied (an instance of a model
/// through its description, a model event owning its alias), else nothing (std::monostate).
template <class A>
struct spy_arg {
    using D = std::remove_cvref_t<A>;
    using type = std::conditional_t<std::is_copy_constructible_v<D>, D, std::monostate>;
    static type make(const Sender& /*sender*/, const D& value) {
        if constexpr (std::is_copy_constructible_v<D>) {
            return value;
        } else {
            return {};
        }
    }
};
/// A copy of `instance`, whose model is `sender`, or null when the sender is not a model of its
/// own (m2m_changed's sender is a through model).
std::shared_ptr<const ModelBase> copy_instance(const Sender& sender, const ModelBase& instance);

template <class A>
requires std::is_base_of_v<ModelBase, std::remove_cvref_t<A>>
struct spy_arg<A> {
    using type = std::shared_ptr<const ModelBase>;
    static type make(const Sender& sender, const ModelBase& instance) {
        return copy_instance(sender, instance);
    }
};
template <class A>
requires std::is_same_v<std::remove_cvref_t<A>, SaveEvent> ||
    std::is_same_v<std::remove_cvref_t<A>, DeleteEvent> ||
    std::is_same_v<std::remove_cvref_t<A>, InitEvent> ||
    std::is_same_v<std::remove_cvref_t<A>, M2MChangedEvent>
struct spy_arg<A> {
    using D = std::remove_cvref_t<A>;
    using type = std::shared_ptr<const OwnedEvent<D>>;
    static type make(const Sender& /*sender*/, const D& event) {
        return std::make_shared<const OwnedEvent<D>>(event);
    }
};
template <class S>
struct signature_of;
template <class Signature>
struct signature_of<Signal<Signature>> {
    using type = Signature;
};
}  // namespace detail

template <class Signature>
class SignalSpy;

/// Records every send of a signal (or of one sender of it) while it lives: the sender and a copy
/// of each argument that can be copied. A model instance is copied through its model's
/// description (arg<0>() is a `std::shared_ptr<const ModelBase>`: `spy.instance<User>(i)`), a
/// model event owns its alias (`spy.event(i)`). Sends on every thread are recorded. Connects a
/// receiver with the lowest priority, so it sees the sends after every other receiver.
///
///     tocsin::testing::SignalSpy spy{tocsin::post_save, tocsin::Sender::of<User>()};
///     user.save();
///     EXPECT_EQ(spy.count(), 1); EXPECT_TRUE(spy.event(0).created);
template <class R, class... Args>
class SignalSpy<R(Args...)> {
  public:
    /// One send: its sender and the arguments kept.
    struct Call {
        Sender sender;
        std::tuple<typename detail::spy_arg<Args>::type...> args;
    };

    /// Spies on `signal`; with `sender`, on that sender's sends only.
    explicit SignalSpy(Signal<R(Args...)>& signal, const Sender& sender = {})
        : state_(std::make_shared<State>()) {
        connection_ = signal.connect(
            [state = state_](const Sender& s, tocsin::detail::param_t<Args>... args) -> R {
                Call call{s, {detail::spy_arg<Args>::make(s, args)...}};
                {
                    const std::lock_guard lock(state->mutex);
                    state->calls.push_back(std::move(call));
                }
                if constexpr (!std::is_void_v<R>) {
                    return R{};
                }
            },
            Connect{.sender = sender, .priority = -1'000'000, .name = "tocsin.testing.SignalSpy"});
    }
    /// Spies on a signal of the model layer (post_save, post_update, m2m_changed, pre_migrate…).
    template <class Wrapper>
    requires requires(const Wrapper& w) {
        { w.signal() } -> std::same_as<Signal<R(Args...)>&>;
    }
    explicit SignalSpy(const Wrapper& wrapper, const Sender& sender = {})
        : SignalSpy(wrapper.signal(), sender) {}

    /// The number of sends recorded.
    [[nodiscard]] std::size_t count() const {
        const std::lock_guard lock(state_->mutex);
        return state_->calls.size();
    }
    /// True once a send was recorded.
    [[nodiscard]] bool called() const { return count() != 0; }
    /// A copy of every send recorded, in order.
    [[nodiscard]] std::vector<Call> calls() const {
        const std::lock_guard lock(state_->mutex);
        return state_->calls;
    }
    /// Send `i` (std::out_of_range if there is none).
    [[nodiscard]] Call call(std::size_t i) const {
        const std::lock_guard lock(state_->mutex);
        return state_->calls.at(i);
    }
    /// The sender of send `i`.
    [[nodiscard]] Sender sender(std::size_t i) const { return call(i).sender; }
    /// Argument `N` of send `i`, as kept (see the class comment).
    template <std::size_t N>
    [[nodiscard]] auto arg(std::size_t i) const {
        return std::get<N>(call(i).args);
    }
    /// For a model signal: the copy of the instance of send `i`, as the model `T`.
    template <class T>
    [[nodiscard]] std::shared_ptr<const T> instance(std::size_t i) const
        requires(sizeof...(Args) >= 1 && std::is_base_of_v<ModelBase, T>) {
        return std::static_pointer_cast<const T>(std::get<0>(call(i).args));
    }
    /// For a model signal: the event of send `i` (owning its alias). Stays valid while the spy
    /// or a copy of its calls lives.
    [[nodiscard]] auto event(std::size_t i) const requires(sizeof...(Args) == 2) {
        const auto owned = std::get<1>(call(i).args);
        return std::shared_ptr<const std::remove_cvref_t<decltype(owned->event)>>(owned,
                                                                                  &owned->event);
    }
    /// Forgets the sends recorded.
    void clear() {
        const std::lock_guard lock(state_->mutex);
        state_->calls.clear();
    }

  private:
    struct State {
        std::mutex mutex;
        std::vector<Call> calls;
    };
    std::shared_ptr<State> state_;
    ScopedConnection connection_;
};

template <class R, class... Args>
SignalSpy(Signal<R(Args...)>&, const Sender& = {}) -> SignalSpy<R(Args...)>;
template <class Wrapper>
SignalSpy(const Wrapper&, const Sender& = {}) -> SignalSpy<typename detail::signature_of<
    std::remove_cvref_t<decltype(std::declval<const Wrapper&>().signal())>>::type>;

// ------------------------------------------------------------------ muting

/// While it lives, the model signals — pre_init, post_init, pre_save, post_save, pre_delete,
/// post_delete, m2m_changed, post_bulk_create and post_update — call no receiver on this thread
/// (for every sender, or for `sender` only): factory_boy's `mute_signals` for a block of test
/// setup. Other threads keep hearing them; nests freely.
class MuteModelSignals {
  public:
    MuteModelSignals();
    /// Mutes `sender` (a model: Sender::of<User>(), or a through model for m2m_changed) only.
    explicit MuteModelSignals(const Sender& sender);
    ~MuteModelSignals();
    MuteModelSignals(const MuteModelSignals&) = delete;
    MuteModelSignals& operator=(const MuteModelSignals&) = delete;

  private:
    std::vector<std::unique_ptr<ScopedMute>> mutes_;
};

}  // namespace tocsin::testing
