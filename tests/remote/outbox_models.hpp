// The models of the remote tests (an Item whose post_save has remote receivers, and the Effect
// each receiver applies, unique per receiver and item), their app, and the receivers of the
// crash tests, connected alike by the test and by its worker program (crash_worker.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tocsin/models.hpp"
#include "tocsin/remote.hpp"

namespace tocsin::test::remote_test {

/// What the events are about.
struct Item : Model<Item> {
    static constexpr std::string_view label = "outboxtest.Item";
    std::string name;
    std::int64_t n = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Item::name), tocsin::field("n", &Item::n));
    }
};

/// An Item of a kind (multi-table inheritance): a remote receiver connected for Item with
/// with_subclasses hears it.
struct SpecialItem : Model<SpecialItem, Item> {
    static constexpr std::string_view label = "outboxtest.SpecialItem";
    std::int64_t level = 0;
    static auto fields() { return tocsin::fields(tocsin::field("level", &SpecialItem::level)); }
};

/// Another model, whose changed fields the tests track.
struct Note : Model<Note> {
    static constexpr std::string_view label = "outboxtest.Note";
    std::string text;
    std::int64_t stars = 0;
    static auto fields() {
        return tocsin::fields(tocsin::field("text", &Note::text),
                              tocsin::field("stars", &Note::stars));
    }
};

/// The effect of one receiver for one item: `key` ("<receiver>:<item id>") is unique, so an
/// effect applied twice fails.
struct Effect : Model<Effect> {
    static constexpr std::string_view label = "outboxtest.Effect";
    std::string key;
    std::string idempotency_key;
    std::int64_t attempt = 0;
    std::string seen_name;
    static auto fields() {
        return tocsin::fields(tocsin::field("key", &Effect::key, {.unique = true}),
                              tocsin::field("idempotency_key", &Effect::idempotency_key),
                              tocsin::field("attempt", &Effect::attempt),
                              tocsin::field("seen_name", &Effect::seen_name));
    }
};

/// The app of Item and Effect.
class OutboxTestApp : public AppConfig {
  public:
    OutboxTestApp() : AppConfig("outboxtest") {}
    [[nodiscard]] std::vector<const apps::ModelDescription*> models() const override {
        return tocsin::describe<Item, Effect, SpecialItem, Note>();
    }
};

/// Applies the effect of receiver @p receiver for @p item, with the delivery being run.
inline void apply_effect(std::string_view receiver, const Item& item) {
    const remote::Delivery* d = remote::current_delivery();
    Effect e;
    e.key = std::string(receiver) + ":" + std::to_string(*item.id);
    e.idempotency_key = d != nullptr ? d->idempotency_key : "";
    e.attempt = d != nullptr ? d->attempt : 0;
    e.seen_name = item.name;
    e.save();
}

/// The crash tests' receivers: "crash.apply" (queue apply; sleeps TOCSIN_REMOTE_TEST_SLEEP_US
/// microseconds first when set, printing "applying <id>"), "crash.flaky" (queue flaky; fails at
/// attempts 1 and 2) and "crash.broken" (queue broken; always fails, dead after 3 attempts).
inline void crash_apply(Item& item, const SaveEvent&) {
    if (const char* sleep = std::getenv("TOCSIN_REMOTE_TEST_SLEEP_US"); sleep != nullptr) {
        std::printf("applying %lld\n", static_cast<long long>(*item.id));  // the test reads it
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::microseconds(std::atoll(sleep)));
    }
    apply_effect("apply", item);
}
inline void crash_flaky(Item& item, const SaveEvent&) {
    if (remote::current_delivery()->attempt <= 2) {
        throw std::runtime_error("flaky");
    }
    apply_effect("flaky", item);
}
inline void crash_broken(Item& item, const SaveEvent&) {
    apply_effect("broken", item);
    throw std::runtime_error("broken receiver");
}
/// "crash.ordered" (queue ordered, RemoteOptions::ordered): an Effect keyed by the outbox row,
/// naming the item, so that the test reads in which order each item's events committed.
inline void crash_ordered(Item& item, const SaveEvent&) {
    Effect e;
    e.key = "ordered:" + std::to_string(remote::current_delivery()->id);
    e.seen_name = std::to_string(*item.id);
    e.attempt = remote::current_delivery()->attempt;
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // a chance to overlap
    e.save();
}
inline ScopedConnection connect_ordered_receiver() {
    return remote::connect<Item>(
        post_save, &crash_ordered,
        {.queue = "ordered", .dispatch_uid = "crash.ordered", .ordered = true});
}

/// The crash tests' custom signal, whose batch receiver is "crash.batch".
inline Signal<void(const std::string&)>& crash_ticket() {
    static Signal<void(const std::string&)> signal{"outboxtest.crash_ticket"};
    return signal;
}
/// "crash.batch" (queue batch, remote::connect_batch): an Effect "batch:<name>" per event, all
/// in one statement; then, when TOCSIN_REMOTE_TEST_SLEEP_US is set, prints "batch of <n>" and
/// sleeps that many microseconds per event (the effects written, not committed).
inline void crash_batch(std::span<const remote::BatchEvent<std::string>> events) {
    std::vector<Effect> effects;
    for (const auto& event : events) {
        Effect e;
        e.key = "batch:" + event.get<0>();
        e.idempotency_key = event.delivery.idempotency_key;
        e.attempt = event.delivery.attempt;
        effects.push_back(std::move(e));
    }
    Effect::objects().bulk_create(effects);
    if (const char* sleep = std::getenv("TOCSIN_REMOTE_TEST_SLEEP_US"); sleep != nullptr) {
        std::printf("batch of %zu\n", events.size());  // the test reads it
        std::fflush(stdout);
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::atoll(sleep) * static_cast<long long>(events.size())));
    }
}

inline std::vector<ScopedConnection> connect_crash_receivers() {
    using namespace std::chrono_literals;
    std::vector<ScopedConnection> out;
    out.emplace_back(remote::connect<Item>(post_save, &crash_apply,
                                           {.queue = "apply", .dispatch_uid = "crash.apply"}));
    out.emplace_back(remote::connect<Item>(
        post_save, &crash_flaky,
        {.queue = "flaky", .dispatch_uid = "crash.flaky", .retry = {.delay = 10ms}}));
    out.emplace_back(remote::connect<Item>(post_save, &crash_broken,
                                           {.queue = "broken",
                                            .dispatch_uid = "crash.broken",
                                            .retry = {.max_attempts = 3, .delay = 10ms}}));
    out.emplace_back(remote::connect_batch(crash_ticket(), &crash_batch,
                                           {.queue = "batch", .dispatch_uid = "crash.batch"}));
    return out;
}

}  // namespace tocsin::test::remote_test
