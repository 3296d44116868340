// The process-wide table of remote receivers (by dispatch_uid), the codec of post_save events
// and the delivery being run on each thread.
#include "tocsin/remote/connect.hpp"

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "remote_internal.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/remote/codec.hpp"
#include "tocsin/remote/outbox.hpp"

namespace tocsin::remote {

namespace {

struct Table {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const detail::RemoteReceiver>, std::less<>> receivers;
};

Table& table() {
    static Table t;
    return t;
}

thread_local const Delivery* current = nullptr;

}  // namespace

const Delivery* current_delivery() noexcept {
    return current;
}

std::vector<RemoteReceiverInfo> remote_receivers() {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    std::vector<RemoteReceiverInfo> out;
    out.reserve(t.receivers.size());
    for (const auto& [uid, r] : t.receivers) {
        out.push_back(r->info);
    }
    return out;
}

std::optional<RemoteReceiverInfo> find_remote_receiver(std::string_view signal,
                                                       std::string_view dispatch_uid) {
    const auto r = detail::find_receiver(dispatch_uid);
    if (!r || r->info.signal != signal) {
        return std::nullopt;
    }
    return r->info;
}

namespace detail {

void set_current_delivery(const Delivery* delivery) noexcept {
    current = delivery;
}

std::shared_ptr<const RemoteReceiver> register_receiver(RemoteReceiver receiver) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    const auto it = t.receivers.find(receiver.info.dispatch_uid);
    if (it != t.receivers.end()) {
        const RemoteReceiverInfo& old = it->second->info;
        if (old.signal != receiver.info.signal || old.queue != receiver.info.queue ||
            old.sender != receiver.info.sender) {
            throw std::invalid_argument(
                "remote receiver '" + receiver.info.dispatch_uid + "' is already registered for " +
                old.signal + " (sender '" + old.sender + "', queue '" + old.queue +
                "'): a dispatch_uid names one remote receiver in the whole program");
        }
        return it->second;
    }
    auto shared = std::make_shared<const RemoteReceiver>(std::move(receiver));
    t.receivers.emplace(shared->info.dispatch_uid, shared);
    return shared;
}

std::shared_ptr<const RemoteReceiver> find_receiver(std::string_view dispatch_uid) {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    const auto it = t.receivers.find(dispatch_uid);
    return it == t.receivers.end() ? nullptr : it->second;
}

void clear_receivers() noexcept {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    t.receivers.clear();
}

void check_options(const RemoteOptions& options, std::string_view signal) {
    const std::string where = "remote::connect to '" + std::string(signal) + "'";
    if (options.dispatch_uid.empty()) {
        throw std::invalid_argument(where +
                                    ": a remote receiver needs a dispatch_uid (workers find the "
                                    "function by it)");
    }
    if (options.queue.empty()) {
        throw std::invalid_argument(where + " ('" + options.dispatch_uid +
                                    "'): the queue is empty");
    }
    if (options.retry.max_attempts < 1) {
        throw std::invalid_argument(where + " ('" + options.dispatch_uid +
                                    "'): retry.max_attempts must be at least 1");
    }
}

void connect_outbox_migration() {
    // Connecting the same uid again is a no-op.
    post_migrate.connect(
        [](const MigrateEvent& e) { create_outbox(e.database); },
        {.dispatch_uid = "tocsin.remote.create_outbox", .name = "tocsin.remote.create_outbox"});
}

std::string encode_save(std::int64_t pk, const SaveEvent& event) {
    nlohmann::json j{{"pk", pk}, {"created", event.created}, {"raw", event.raw}};
    if (event.update_fields) {
        j["update_fields"] = *event.update_fields;
    } else {
        j["update_fields"] = nullptr;
    }
    return j.dump();
}

DecodedSave decode_save(const nlohmann::json& payload) {
    if (!payload.is_object() || !payload.contains("pk") || !payload.at("pk").is_number_integer()) {
        throw std::invalid_argument("the outbox row's payload is not a post_save event: " +
                                    payload.dump());
    }
    DecodedSave out;
    out.pk = payload.at("pk").get<std::int64_t>();
    out.created = payload.value("created", false);
    out.raw = payload.value("raw", false);
    if (payload.contains("update_fields") && !payload.at("update_fields").is_null()) {
        out.update_fields = payload.at("update_fields").get<std::set<std::string>>();
    }
    return out;
}

}  // namespace detail
}  // namespace tocsin::remote
