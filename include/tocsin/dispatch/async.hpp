// tocsin::Signal::asend and asend_robust — Django's async sends, returning a std::future.
// Kept apart from <tocsin/dispatch/signal.hpp> so that a translation unit that does not send
// asynchronously does not pay for <future>: include this header to call asend.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tocsin/dispatch/executor.hpp"
#include "tocsin/dispatch/outcome.hpp"
#include "tocsin/dispatch/sender.hpp"
#include "tocsin/dispatch/signal.hpp"

namespace tocsin {

namespace detail {

/// The machinery of asend and asend_robust for Signal<R(Args...)> (a friend of it).
template <class R, class... Args>
struct AsyncSends<R(Args...)> {
    using Sig = Signal<R(Args...)>;
    using asend_result = typename Sig::asend_result;

    /// Shared state of one asend: the copied arguments, the receivers and their outcomes.
    struct AsyncSend {
        Sender sender;
        std::tuple<std::decay_t<Args>...> args;
        std::shared_ptr<Receivers> owner;                  ///< the signal's receivers
        std::vector<std::shared_ptr<SlotBase>> receivers;  ///< sync ones first
        std::size_t sync_count = 0;
        std::vector<Outcome<R>> outcomes;
        std::vector<char> ran;
        std::atomic<std::size_t> remaining{0};
        /// Reports the send to the send observer while it is set (its last event when the
        /// send's state goes, after every receiver ran).
        std::shared_ptr<const SendProbe> probe;
    };

    template <bool Robust>
    using async_future_t = std::conditional_t<Robust, std::vector<Outcome<R>>, asend_result>;

    template <bool Robust>
    static std::future<async_future_t<Robust>> start_async(const Sig& sig, const Sender& sender,
                                                           param_t<Args>... args) {
        using Result = async_future_t<Robust>;
        auto state = std::make_shared<AsyncSend>();
        auto promise = std::make_shared<std::promise<Result>>();
        auto future = promise->get_future();
        state->sender = sender;
        state->args = std::tuple<std::decay_t<Args>...>(args...);
        state->owner = sig.receivers_;
        {
            std::vector<std::shared_ptr<SlotBase>> async;
            sig.template dispatch<false>(
                sender,
                [&](SlotBase* s, const SendProbe*) { state->receivers.push_back(s->shared()); },
                [&](const View& all, const SendProbe*) {
                    all.for_each([&](const Entry& e) {
                        if (e.slot->async && e.slot->alive()) {
                            async.push_back(e.slot->shared());
                        }
                    });
                });
            state->sync_count = state->receivers.size();
            state->receivers.insert(state->receivers.end(), async.begin(), async.end());
        }
        const std::size_t n = state->receivers.size();
        if (n > 0 && observing()) [[unlikely]] {
            state->probe = std::make_shared<const SendProbe>(sig.name(), sender);
        }
        state->outcomes.resize(n);
        state->ran.assign(n, 0);
        const std::size_t tasks = n - state->sync_count + (state->sync_count > 0 ? 1 : 0);
        if (tasks == 0) {
            finish<Robust>(*state, *promise);
            return future;
        }
        state->remaining.store(tasks, std::memory_order_relaxed);
        auto done = [state, promise] {
            if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                finish<Robust>(*state, *promise);
            }
        };
        if (state->sync_count > 0) {
            submit(*default_executor(), [state, done] {
                for (std::size_t i = 0; i < state->sync_count; ++i) {
                    if (!run_one(*state, i) && !Robust) {
                        break;  // asend: the first exception stops the synchronous receivers
                    }
                }
                done();
            });
        }
        for (std::size_t i = state->sync_count; i < n; ++i) {
            submit(*state->receivers[i]->extras->executor, [state, done, i] {
                run_one(*state, i);
                done();
            });
        }
        return future;
    }

    /// Hands `task` to `executor`, or runs it here if the executor refuses it.
    template <class Task>
    static void submit(Executor& executor, Task task) {
        try {
            executor.execute(task);
        } catch (...) {
            task();
        }
    }

    /// Runs receiver `i` of an asend; false if it threw. The receiver runs inside a read-side
    /// section, as in a send: Connection::disconnect_and_wait() waits for it, and refuses to run
    /// from inside it.
    static bool run_one(AsyncSend& st, std::size_t i) {
        const rcu::ReadGuard guard;
        SlotBase* s = st.receivers[i].get();
        Outcome<R>& o = st.outcomes[i];
        o.receiver = Connection(st.receivers[i]);
        std::shared_ptr<const void> keep;
        if (!pin(*s, keep, *st.owner)) {
            return true;  // disconnected or expired before its turn: not called
        }
        st.ran[i] = 1;
        try {
            std::apply(
                [&](auto&... a) {
                    if constexpr (std::is_void_v<R>) {
                        Sig::observed_invoke(st.probe.get(), s, st.sender, a...);
                    } else {
                        o.value.emplace(Sig::observed_invoke(st.probe.get(), s, st.sender, a...));
                    }
                },
                st.args);
            return true;
        } catch (...) {
            o.error = std::current_exception();
            return false;
        }
    }

    template <bool Robust>
    static void finish(AsyncSend& st, std::promise<async_future_t<Robust>>& promise) {
        std::vector<Outcome<R>> outcomes;
        for (std::size_t i = 0; i < st.outcomes.size(); ++i) {
            if (st.ran[i] != 0) {
                outcomes.push_back(std::move(st.outcomes[i]));
            }
        }
        if constexpr (Robust) {
            for (std::size_t i = 0; i < outcomes.size(); ++i) {
                if (outcomes[i].error) {
                    st.owner->report(*outcomes[i].receiver.slot_, outcomes[i].error);
                }
            }
            promise.set_value(std::move(outcomes));
        } else {
            for (const auto& o : outcomes) {
                if (o.error) {
                    promise.set_exception(o.error);
                    return;
                }
            }
            if constexpr (std::is_void_v<R>) {
                promise.set_value();
            } else {
                std::vector<Response<R>> responses;
                responses.reserve(outcomes.size());
                for (auto& o : outcomes) {
                    responses.push_back(Response<R>{std::move(*o.value), std::move(o.receiver)});
                }
                promise.set_value(std::move(responses));
            }
        }
    }
};

}  // namespace detail

template <class R, class... Args>
auto Signal<R(Args...)>::asend(const Sender& sender, detail::param_t<Args>... args) const {
    return detail::AsyncSends<R(Args...)>::template start_async<false>(*this, sender, args...);
}

template <class R, class... Args>
auto Signal<R(Args...)>::asend_robust(const Sender& sender, detail::param_t<Args>... args) const {
    return detail::AsyncSends<R(Args...)>::template start_async<true>(*this, sender, args...);
}

}  // namespace tocsin
