// tocsin::db::StatementCache and CachedStatement.
#include "tocsin/db/statement_cache.hpp"

#include <atomic>
#include <functional>
#include <unordered_map>

namespace tocsin::db {

namespace detail {
// Named, not anonymous: the map type is the base of StatementCache::Slots, which has linkage
// (g++'s -Wsubobject-linkage when this file is compiled inside a unity batch).
struct StatementTextHash {
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then keeps each key's hash in its node, so a rehash
    // does not hash the SQL texts again.
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

struct StatementCache::Slots : std::unordered_map<std::string, detail::StatementSlot,
                                                  detail::StatementTextHash, std::equal_to<>> {};

StatementCache::StatementCache(std::size_t capacity)
    : capacity_(capacity), slots_(std::make_unique<Slots>()) {}

StatementCache::~StatementCache() = default;

detail::StatementSlot* StatementCache::find_slot_in_map(std::string_view sql,
                                                        Recent& recent) noexcept {
    auto it = slots_->find(sql);
    if (it == slots_->end())
        return nullptr;
    recent = Recent{&it->first, &it->second};
    return &it->second;
}

CachedStatement& CachedStatement::operator=(CachedStatement&& other) noexcept {
    if (this != &other) {
        release();
        statement_ = std::move(other.statement_);
        slot_ = std::exchange(other.slot_, nullptr);
        generation_ = other.generation_;
        cache_ = std::exchange(other.cache_, nullptr);
        keepalive_ = std::move(other.keepalive_);
    }
    return *this;
}

void CachedStatement::release() noexcept {
    if (!statement_)
        return;
    statement_->reset();
    if (cache_ != nullptr && slot_ != nullptr && generation_ == cache_->generation_) {
        cache_->give_back(*slot_, std::move(statement_));
    }
    statement_.reset();
    slot_ = nullptr;
    cache_ = nullptr;
}

detail::StatementSlot& StatementCache::add_slot(std::string_view sql) {
    auto [it, inserted] = slots_->try_emplace(std::string(sql));
    (void)inserted;  // a miss: the SQL had no slot
    if (slots_->size() > capacity_) {
        // Make room: finalise an idle slot (one with nothing lent out), never the new one.
        for (auto victim = slots_->begin(); victim != slots_->end(); ++victim) {
            if (victim != it && victim->second.out == 0) {
                if (victim->second.idle)
                    --idle_;
                forget_recent(&victim->second);
                slots_->erase(victim);
                break;
            }
        }
    }
    return it->second;
}

void StatementCache::give_back(detail::StatementSlot& slot,
                               std::unique_ptr<Statement> statement) noexcept {
    --slot.out;
    if (!slot.idle) {
        slot.idle = std::move(statement);
        ++idle_;
    }  // else a twin: it dies here, the first one stays
    if (slot.out == 0 && slots_->size() > capacity_) {
        // Every slot was lent out when this one was added: shrink back now that one is idle.
        for (auto it = slots_->begin(); it != slots_->end(); ++it) {
            if (&it->second == &slot) {
                --idle_;
                forget_recent(&slot);
                slots_->erase(it);
                break;
            }
        }
    }
}

void StatementCache::forget_recent(const detail::StatementSlot* slot) noexcept {
    for (auto& recent : recent_) {
        if (recent.slot == slot)
            recent = Recent{};
    }
}

Statement& StatementCache::hold(std::size_t key, std::unique_ptr<Statement> statement) {
    if (key >= held_.size())
        held_.resize(key + 1);
    held_[key] = std::move(statement);
    return *held_[key];
}

std::size_t StatementCache::new_held_key() noexcept {
    static std::atomic<std::size_t> next{0};
    return next.fetch_add(1, std::memory_order_relaxed);
}

void StatementCache::clear() noexcept {
    held_.clear();
    recent_.fill(Recent{});
    slots_->clear();
    idle_ = 0;
    ++generation_;
    stats_ = Stats{};
}

StatementCache::Stats StatementCache::stats() const noexcept {
    Stats out = stats_;
    out.idle = idle_;
    return out;
}

}  // namespace tocsin::db
