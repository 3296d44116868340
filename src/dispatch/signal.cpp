// What every Signal<…>::connect does after making its slot, compiled once here instead of in
// every file that connects a receiver: filling the slot from the Connect options, making a
// commit-time receiver's target, naming a commit-time receiver that failed.
#include "tocsin/dispatch/signal.hpp"

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace tocsin::detail {

SlotBase::SlotBase() = default;

void throw_invalid_connect(std::string_view signal, std::string_view what) {
    throw std::invalid_argument("Signal '" + std::string(signal) + "': " + std::string(what));
}

std::shared_ptr<SlotBase> connect_slot(Receivers& receivers, std::shared_ptr<SlotBase> slot,
                                       Connect& options, tocsin::source_location where) {
    if (options.on_commit && options.executor) {
        throw_invalid_connect(receivers.name(),
                              "a receiver cannot be both on_commit and async (an executor)");
    }
    slot->custom_name = std::move(options.name);
    slot->sender = options.sender;
    slot->dispatch_uid = std::move(options.dispatch_uid);
    slot->tracked = was_given(options.track);
    slot->track = std::move(options.track);
    slot->priority = options.priority;
    slot->executor = std::move(options.executor);
    slot->async = slot->executor != nullptr;
    slot->on_commit = options.on_commit;
    slot->state.store(static_cast<std::uint8_t>((slot->tracked ? SlotBase::tracked_bit : 0) |
                                                (slot->async ? SlotBase::async_bit : 0)),
                      std::memory_order_relaxed);
    slot->where = where;
    return receivers.connect(std::move(slot));
}

std::shared_ptr<const CommitTimeTarget> make_commit_target(
    const std::shared_ptr<Receivers>& receivers, std::shared_ptr<void> fn, const void* code,
    std::string_view type, const Connect& options) {
    auto target = std::make_shared<CommitTimeTarget>();
    target->fn = std::move(fn);
    target->track = options.track;
    target->tracked = was_given(options.track);
    target->who = CommitReceiverName{receivers, std::string(receivers->name()), options.name,
                                     options.dispatch_uid};
    target->code = code;
    target->type = type;
    return target;
}

void CommitReceiverName::report(const void* code, std::string_view type) const noexcept {
    try {
        report_commit_failure(owner, signal, receiver_name(name, dispatch_uid, code, type),
                              std::current_exception());
    } catch (...) {  // NOLINT(bugprone-empty-catch): naming it failed (out of memory)
    }
}

}  // namespace tocsin::detail
