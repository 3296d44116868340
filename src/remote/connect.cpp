// The process-wide table of remote receivers (by dispatch_uid), the codec of post_save events
// and the delivery being run on each thread.
#include "tocsin/remote/connect.hpp"

#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "remote_internal.hpp"
#include "tocsin/models/migrate_signals.hpp"
#include "tocsin/models/model_info.hpp"
#include "tocsin/models/query.hpp"
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

thread_local const Delivery* this_threads_delivery = nullptr;
thread_local detail::BatchInstances* current_batch = nullptr;

/// find_model_info(sender), remembered per thread.
const ModelInfo* model_by_sender(const Sender& sender) {
    thread_local std::unordered_map<Sender, const ModelInfo*> cache;
    if (const auto it = cache.find(sender); it != cache.end()) {
        return it->second;
    }
    const ModelInfo* info = find_model_info(sender);
    if (info != nullptr) {
        cache.emplace(sender, info);
    }
    return info;
}

}  // namespace

const Delivery* current_delivery() noexcept {
    return this_threads_delivery;
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
    this_threads_delivery = delivery;
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

nlohmann::json value_to_json(const db::Value& value) {
    switch (value.type()) {
        case db::ValueType::null:
            return nullptr;
        case db::ValueType::integer:
            return value.as_integer();
        case db::ValueType::real:
            return value.as_real();
        case db::ValueType::text:
            return value.as_text();
        case db::ValueType::blob: {
            static constexpr char hex[] = "0123456789abcdef";
            std::string digits;
            digits.reserve(value.as_blob().size() * 2);
            for (const std::byte b : value.as_blob()) {
                const auto v = std::to_integer<unsigned>(b);
                digits += hex[v >> 4U];
                digits += hex[v & 0xFU];
            }
            return nlohmann::json{{"blob", digits}};
        }
    }
    return nullptr;
}

db::Value value_from_json(const nlohmann::json& json) {
    if (json.is_null()) {
        return db::Value();
    }
    if (json.is_number_integer()) {
        return db::Value(json.get<std::int64_t>());
    }
    if (json.is_number_float()) {
        return db::Value(json.get<double>());
    }
    if (json.is_string()) {
        return db::Value(json.get<std::string>());
    }
    if (json.is_object() && json.size() == 1 && json.contains("blob") &&
        json.at("blob").is_string()) {
        const std::string& digits = json.at("blob").get_ref<const std::string&>();
        const auto nibble = [&](char c) -> unsigned {
            if (c >= '0' && c <= '9') {
                return static_cast<unsigned>(c - '0');
            }
            if (c >= 'a' && c <= 'f') {
                return static_cast<unsigned>(c - 'a' + 10);
            }
            throw std::invalid_argument("not a blob's hex digits: " + digits);
        };
        if (digits.size() % 2 != 0) {
            throw std::invalid_argument("not a blob's hex digits: " + digits);
        }
        db::Blob blob;
        blob.reserve(digits.size() / 2);
        for (std::size_t i = 0; i < digits.size(); i += 2) {
            blob.push_back(static_cast<std::byte>(nibble(digits[i]) << 4U | nibble(digits[i + 1])));
        }
        return db::Value(std::move(blob));
    }
    throw std::invalid_argument("not a field value: " + json.dump());
}

std::string encode_save(std::int64_t pk, const SaveEvent& event) {
    nlohmann::json j{{"pk", pk}, {"created", event.created}, {"raw", event.raw}};
    if (event.update_fields) {
        j["update_fields"] = *event.update_fields;
    } else {
        j["update_fields"] = nullptr;
    }
    if (event.tracking != nullptr) {
        nlohmann::json changes = nlohmann::json::array();
        for (const FieldChange& c : event.changes()) {
            nlohmann::json one{{"field", c.field}, {"current", value_to_json(c.current)}};
            if (c.previous) {
                one["previous"] = value_to_json(*c.previous);
            }
            changes.push_back(std::move(one));
        }
        j["changes"] = std::move(changes);
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
    // Not json::value(key, false): g++ 12 at -O2 sees a "potential null pointer dereference" in
    // it (-Wnull-dereference, an error here).
    const auto flag = [&payload](const char* key) {
        const auto it = payload.find(key);
        return it != payload.end() && *it == true;
    };
    out.created = flag("created");
    out.raw = flag("raw");
    if (payload.contains("update_fields") && !payload.at("update_fields").is_null()) {
        out.update_fields = payload.at("update_fields").get<std::set<std::string>>();
    }
    if (const auto it = payload.find("changes"); it != payload.end() && it->is_array()) {
        out.changes.emplace();
        for (const auto& c : *it) {
            RecordedChange change{c.at("field").get<std::string>(), std::nullopt,
                                  value_from_json(c.at("current"))};
            if (const auto p = c.find("previous"); p != c.end()) {
                change.previous = value_from_json(*p);
            }
            out.changes->push_back(std::move(change));
        }
    }
    return out;
}

void enqueue_save(const RemoteReceiver& receiver, const Sender& sender, const ModelBase& instance,
                  const SaveEvent& event) {
    if (!instance.id) {
        throw std::logic_error("remote receiver '" + receiver.info.dispatch_uid +
                               "': the instance sent has no primary key");
    }
    const ModelInfo* info = model_by_sender(sender);
    const std::string label = info != nullptr ? info->label() : sender.name();
    const std::string_view alias = event.database.empty() ? db::default_alias : event.database;
    const std::string payload = encode_save(*instance.id, event);
    if (receiver.info.ordered) {
        // Per receiver and instance: the claim runs the oldest pending row of a key only.
        const std::string key =
            receiver.info.dispatch_uid + " " + label + " " + std::to_string(*instance.id);
        enqueue(receiver, alias, label, payload, &key);
    } else {
        enqueue(receiver, alias, label, payload);
    }
}

const ModelInfo* model_by_label(std::string_view label) {
    thread_local std::unordered_map<std::string, const ModelInfo*> cache;
    const std::string key(label);
    if (const auto it = cache.find(key); it != cache.end()) {
        return it->second;
    }
    const ModelInfo* info = find_model_info(label);
    if (info != nullptr) {
        cache.emplace(key, info);
    }
    return info;
}

void set_batch_instances(BatchInstances* batch) noexcept {
    current_batch = batch;
}

BatchInstances* batch_instances() noexcept {
    return current_batch;
}

namespace {
/// Drops a saved or removed instance from this thread's batch.
void forget_batch_instance(const Sender& sender, ModelBase& instance) {
    BatchInstances* batch = current_batch;
    if (batch == nullptr || batch->instances.empty() || !instance.id) {
        return;
    }
    if (const ModelInfo* info = model_by_sender(sender); info != nullptr) {
        batch->instances.erase({info, *instance.id});
    }
}
}  // namespace

void watch_batch_model(const ModelInfo& model) {
    // Connecting the same uid for the same sender again is a no-op.
    post_save.connect([](const Sender& sender, ModelBase& instance,
                         const SaveEvent&) { forget_batch_instance(sender, instance); },
                      {.sender = model.sender,
                       .dispatch_uid = "tocsin.remote.batch_instances",
                       .name = "tocsin.remote.batch_instances"});
    post_delete.connect([](const Sender& sender, ModelBase& instance,
                           const DeleteEvent&) { forget_batch_instance(sender, instance); },
                        {.sender = model.sender,
                         .dispatch_uid = "tocsin.remote.batch_instances",
                         .name = "tocsin.remote.batch_instances"});
}

std::unique_ptr<LoadedSave> load_save(const RunContext& row, const ModelScope& scope,
                                      std::string_view receiver) {
    const DecodedSave save = decode_save(row.payload);
    const ModelInfo* info = row.sender.empty() ? scope.model : model_by_label(row.sender);
    if (info == nullptr) {
        throw std::invalid_argument(
            "remote receiver '" + std::string(receiver) + "': the outbox row names the model '" +
            std::string(row.sender) + "', which this program does not define");
    }
    bool in_scope = true;
    std::string wanted;
    if (scope.model != nullptr) {
        in_scope = scope.subclasses ? info->is_or_extends(*scope.model) : info == scope.model;
        wanted = scope.model->label();
    } else if (!scope.label.empty()) {
        in_scope = model_by_label(scope.label) == info;
        wanted = scope.label;
    } else if (!scope.sender.is_none()) {
        in_scope = info->sender == scope.sender;
        wanted = scope.sender.name();
    }
    if (!in_scope) {
        throw std::invalid_argument("remote receiver '" + std::string(receiver) +
                                    "': the outbox row names the model '" + info->label() +
                                    "', not the one the receiver is connected for (" + wanted +
                                    (scope.subclasses ? " and its subclasses" : "") + ")");
    }
    auto out = std::make_unique<LoadedSave>();
    out->model = info;
    bool looked = false;
    if (BatchInstances* batch = current_batch; batch != nullptr) {
        if (const auto it = batch->instances.find({info, save.pk}); it != batch->instances.end()) {
            looked = true;
            out->instance = std::move(it->second);  // once: a second row of it loads it again
            batch->instances.erase(it);
        }
    }
    if (!looked) {
        ::tocsin::detail::QueryParts q;
        q.info = info;
        q.database = std::string(row.database);
        q.condition =
            ::tocsin::detail::column_condition("id", Condition::Op::eq, {db::Value(save.pk)});
        q.limit = 1;
        const std::vector<db::Row> rows = ::tocsin::detail::fetch_rows(q);
        if (!rows.empty()) {
            out->instance = info->make();
            ::tocsin::detail::load_row(*out->instance, *info, rows.front(), row.database);
        }
    }
    if (!out->instance) {
        out->note = info->label() + " pk=" + std::to_string(save.pk) +
                    " no longer exists (removed after the send)";
        return out;
    }
    out->event = SaveEvent{.created = save.created,
                           .raw = save.raw,
                           .database = row.database,
                           .update_fields = save.update_fields};
    if (save.changes) {
        // The instance as the save wrote it (the fresh one with the recorded values), and the
        // snapshot before it (the same with the previous values), so that changes() tells what
        // the send saw, whatever happened to the row since.
        out->at_send = info->clone(*out->instance);
        bool previous_known = true;
        std::vector<std::pair<std::size_t, const db::Value*>> previous;
        for (const RecordedChange& c : *save.changes) {
            for (std::size_t i = 0; i < info->all_fields.size(); ++i) {
                if (info->all_fields[i]->name == c.field) {
                    info->all_fields[i]->set(*out->at_send, c.current);
                    if (c.previous) {
                        previous.emplace_back(i, &*c.previous);
                    }
                    break;
                }
            }
            previous_known = previous_known && c.previous.has_value();
        }
        if (previous_known) {
            auto before = std::make_shared<::tocsin::detail::FieldSnapshot>();
            before->model = info;
            before->values.reserve(info->all_fields.size());
            for (const FieldInfo* f : info->all_fields) {
                before->values.push_back(f->get(*out->at_send));
            }
            for (const auto& [i, value] : previous) {
                before->values[i] = *value;
            }
            out->before = std::move(before);
        }
        out->tracking = ::tocsin::detail::SaveChanges{out->at_send.get(), info, out->before.get(),
                                                      &out->event.update_fields};
        out->event.tracking = &out->tracking;
    }
    return out;
}

}  // namespace detail
}  // namespace tocsin::remote
