// tocsin/testing.hpp: the on_commit capture, the query counter and the model-signal mute.
#include "tocsin/testing.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "tocsin/db/log.hpp"
#include "tocsin/db/sqlite_backend.hpp"

namespace tocsin::testing {

// ------------------------------------------------------------------ on_commit callbacks

namespace {
thread_local CaptureOnCommitCallbacks* innermost_capture = nullptr;
}  // namespace

struct CommitCaptureAccess {
    static CaptureOnCommitCallbacks* find(std::string_view alias) {
        for (auto* c = innermost_capture; c != nullptr; c = c->previous_) {
            if (c->alias_ == alias) {
                return c;
            }
        }
        return nullptr;
    }
    static void add(CaptureOnCommitCallbacks& capture, CapturedCallback callback) {
        capture.callbacks_.push_back(std::move(callback));
    }
};

void CapturedCallback::operator()() const {
    if (!robust) {
        fn();
        return;
    }
    try {
        fn();
    } catch (...) {
        const auto error = std::current_exception();
        const std::string message = "Error calling " + (name.empty() ? "<callback>" : name) +
                                    " in on_commit() (" + describe_exception(error) + ").";
        db::log(db::LogRecord{.level = db::LogLevel::error,
                              .logger = "tocsin.db",
                              .message = message,
                              .error = error});
    }
}

CaptureOnCommitCallbacks::CaptureOnCommitCallbacks(CaptureOptions options)
    : alias_(std::move(options.alias)), previous_(innermost_capture) {
    innermost_capture = this;
}

CaptureOnCommitCallbacks::~CaptureOnCommitCallbacks() {
    // Captures end in the reverse order they began (they are scoped objects of one thread).
    innermost_capture = previous_;
}

void CaptureOnCommitCallbacks::execute() {
    // Callbacks registered by a callback are captured too (this capture is still active) and run
    // after it, as Django's execute=True loops until no callback is left.
    while (executed_ < callbacks_.size()) {
        const CapturedCallback callback = callbacks_[executed_];
        ++executed_;
        callback();
    }
}

// ------------------------------------------------------------------ queries

namespace {
thread_local std::vector<CaptureQueries*> active_counters;
}  // namespace

struct QueryTraceAccess {
    /// The observer of one connection: every active counter of that connection gets the SQL.
    static void observe(const void* backend, const std::string& sql) {
        for (CaptureQueries* counter : active_counters) {
            if (counter->handle_ == backend) {
                counter->queries_.push_back(sql);
            }
        }
    }
};

CaptureQueries::CaptureQueries(std::string_view alias) {
    db::Backend& backend = db::connection(alias).backend();
    handle_ = &backend;
    active_counters.push_back(this);
    if (!backend.observed()) {
        const void* key = &backend;
        backend.set_statement_observer(
            [key](const std::string& sql) { QueryTraceAccess::observe(key, sql); });
    }
}

CaptureQueries::~CaptureQueries() {
    std::erase(active_counters, this);
    const bool still_counted = std::any_of(active_counters.begin(), active_counters.end(),
                                           [this](auto* c) { return c->handle_ == handle_; });
    if (!still_counted) {
        static_cast<db::Backend*>(handle_)->set_statement_observer({});
    }
}

std::string CaptureQueries::numbered() const {
    std::string out;
    for (std::size_t i = 0; i < queries_.size(); ++i) {
        out += std::to_string(i + 1) + ". " + queries_[i] + "\n";
    }
    return out;
}

// ------------------------------------------------------------------ spies and muting

std::shared_ptr<const ModelBase> detail::copy_instance(const Sender& sender,
                                                       const ModelBase& instance) {
    const ModelInfo* info = find_model_info(sender);
    if (info == nullptr || info->auto_created || !info->clone) {
        return nullptr;
    }
    return info->clone(instance);
}

namespace {
template <class Wrapper>
void mute(std::vector<std::unique_ptr<ScopedMute>>& mutes, const Wrapper& signal,
          const Sender* sender) {
    mutes.push_back(sender == nullptr ? std::make_unique<ScopedMute>(signal)
                                      : std::make_unique<ScopedMute>(signal, *sender));
}

void mute_all(std::vector<std::unique_ptr<ScopedMute>>& mutes, const Sender* sender) {
    mute(mutes, pre_init, sender);
    mute(mutes, post_init, sender);
    mute(mutes, pre_save, sender);
    mute(mutes, post_save, sender);
    mute(mutes, pre_delete, sender);
    mute(mutes, post_delete, sender);
    mute(mutes, m2m_changed, sender);
    mute(mutes, post_bulk_create, sender);
    mute(mutes, post_update, sender);
}
}  // namespace

MuteModelSignals::MuteModelSignals() {
    mute_all(mutes_, nullptr);
}
MuteModelSignals::MuteModelSignals(const Sender& sender) {
    mute_all(mutes_, &sender);
}
MuteModelSignals::~MuteModelSignals() {
    while (!mutes_.empty()) {
        mutes_.pop_back();  // the reverse order of muting
    }
}

}  // namespace tocsin::testing

namespace tocsin::db::detail {
bool capture_on_commit(std::string_view alias, std::function<void()>& fn, bool robust,
                       std::string_view name) {
    auto* capture = testing::CommitCaptureAccess::find(alias);
    if (capture == nullptr) {
        return false;
    }
    testing::CommitCaptureAccess::add(
        *capture, testing::CapturedCallback{std::move(fn), robust, std::string(name)});
    return true;
}
}  // namespace tocsin::db::detail
