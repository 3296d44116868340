// StatementCache: prepared statements kept per SQL text, and CachedStatement, the RAII
// lease that hands one out and gives it back.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/db/statement.hpp"

namespace tocsin::db {

class StatementCache;

namespace detail {
/// One SQL text's place in a StatementCache: its idle statement (null while every statement
/// for that SQL is lent out) and how many are lent out.
struct StatementSlot {
    std::unique_ptr<Statement> idle;
    std::size_t out = 0;
};
}  // namespace detail

/// A statement borrowed from a StatementCache. While the lease lives, nobody else gets that
/// statement (asking again for the same SQL meanwhile prepares a second one, so re-entrant code,
/// e.g. a receiver saving another row of the same model, is safe). On destruction the statement
/// is reset, its bindings cleared, and it goes back to the cache. A lease keeps its backend alive,
/// so it may outlive Database::close(); it belongs to the thread that made it. Movable, not
/// copyable; a moved-from or default-constructed lease is empty.
class CachedStatement {
  public:
    CachedStatement() noexcept = default;
    CachedStatement(CachedStatement&& other) noexcept
        : keepalive_(std::move(other.keepalive_)),
          cache_(std::exchange(other.cache_, nullptr)),
          slot_(std::exchange(other.slot_, nullptr)),
          generation_(other.generation_),
          statement_(std::move(other.statement_)) {}
    CachedStatement& operator=(CachedStatement&& other) noexcept;
    ~CachedStatement() { release(); }

    /// The statement. Undefined on an empty lease.
    [[nodiscard]] Statement& operator*() const noexcept { return *statement_; }
    [[nodiscard]] Statement* operator->() const noexcept { return statement_.get(); }
    [[nodiscard]] Statement& get() const noexcept { return *statement_; }
    /// Whether the lease holds a statement.
    [[nodiscard]] explicit operator bool() const noexcept { return statement_ != nullptr; }

  private:
    friend class StatementCache;
    CachedStatement(std::shared_ptr<void> keepalive, StatementCache* cache,
                    detail::StatementSlot* slot, std::uint64_t generation,
                    std::unique_ptr<Statement> statement) noexcept
        : keepalive_(std::move(keepalive)),
          cache_(cache),
          slot_(slot),
          generation_(generation),
          statement_(std::move(statement)) {}
    void release() noexcept;

    std::shared_ptr<void> keepalive_;  // declared first: destroyed last
    StatementCache* cache_ = nullptr;
    detail::StatementSlot* slot_ = nullptr;
    std::uint64_t generation_ = 0;
    std::unique_ptr<Statement> statement_;
};

/// Prepared statements keyed by their SQL text, so that code building the same SQL again (the
/// model layer: one SQL text per model and query shape) prepares it once. Checking a statement
/// out costs one lookup of the SQL text; giving it back costs no lookup, and neither allocates.
/// At most capacity() idle statements are kept; past that, an arbitrary idle one is finalised to
/// make room. Not thread-safe: it belongs to one connection.
class StatementCache {
  public:
    /// Counters since construction (or since clear()).
    struct Stats {
        std::uint64_t hits = 0;    ///< acquisitions served by an idle cached statement
        std::uint64_t misses = 0;  ///< acquisitions that had to prepare a statement
        std::size_t idle = 0;      ///< statements waiting in the cache now
    };

    /// A cache keeping up to @p capacity idle statements (0: cache nothing).
    explicit StatementCache(std::size_t capacity = 256);
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;
    ~StatementCache();

    /// Lends the idle statement for @p sql, or one made by @p prepare(sql) when there is none.
    /// @p keepalive is held by the lease (the owner of this cache, so that it outlives the lease).
    /// When @p prepare throws, the cache is as it was.
    template <class Prepare>
    [[nodiscard]] CachedStatement acquire(std::string_view sql, Prepare&& prepare,
                                          std::shared_ptr<void> keepalive = {}) {
        if (capacity_ == 0) {
            ++stats_.misses;
            return CachedStatement(std::move(keepalive), nullptr, nullptr, 0,
                                   std::forward<Prepare>(prepare)(sql));
        }
        if (detail::StatementSlot* found = find_slot(sql)) [[likely]] {
            detail::StatementSlot& slot = *found;
            std::unique_ptr<Statement> statement;
            if (slot.idle) [[likely]] {
                ++stats_.hits;
                --idle_;
                statement = std::move(slot.idle);
            } else {
                ++stats_.misses;
                statement = std::forward<Prepare>(prepare)(sql);  // a twin: the first is lent
            }
            ++slot.out;
            return CachedStatement(std::move(keepalive), this, &slot, generation_,
                                   std::move(statement));
        }
        ++stats_.misses;
        std::unique_ptr<Statement> statement = std::forward<Prepare>(prepare)(sql);
        detail::StatementSlot& slot = add_slot(sql);
        ++slot.out;
        return CachedStatement(std::move(keepalive), this, &slot, generation_,
                               std::move(statement));
    }

    /// The statement held under @p key (see hold()), or null when none is.
    [[nodiscard]] Statement* held(std::size_t key) const noexcept {
        return key < held_.size() ? held_[key].get() : nullptr;
    }
    /// Holds @p statement under @p key, a number from new_held_key(), until clear() or the
    /// cache's end, apart from the statements keyed by SQL text: a caller that runs the same
    /// SQL over and over (the model layer's save plan) finds it again by an index, without a
    /// lookup of its text or a lease. Returns it.
    Statement& hold(std::size_t key, std::unique_ptr<Statement> statement);
    /// A key for hold(), new in the process (keys index a vector: they are small and dense).
    [[nodiscard]] static std::size_t new_held_key() noexcept;
    /// Finalises every idle statement and every held one (leases out stay valid and are
    /// finalised on return).
    void clear() noexcept;
    /// The counters, and the number of idle statements.
    [[nodiscard]] Stats stats() const noexcept;
    /// The most idle statements kept.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  private:
    friend class CachedStatement;
    /// The slots by SQL text (a hash map, in src/db/statement_cache.cpp: a file including this
    /// header does not compile it).
    struct Slots;
    struct Recent;
    /// The slot for @p sql, or null. Code that asks for the same SQL again passes the same
    /// characters (the model layer's SQL is built once): a small table indexed by their address
    /// remembers recent slots, so a repeat costs a compare of the text instead of a hash.
    detail::StatementSlot* find_slot(std::string_view sql) noexcept {
        Recent& recent = recent_[(reinterpret_cast<std::uintptr_t>(sql.data()) >> 4) % recent_size];
        if (recent.slot != nullptr && *recent.key == sql) [[likely]]
            return recent.slot;
        return find_slot_in_map(sql, recent);
    }
    /// find_slot() past the table of recent slots: the hash map's lookup, remembered in `recent`.
    detail::StatementSlot* find_slot_in_map(std::string_view sql, Recent& recent) noexcept;
    /// Forgets @p slot in the table of recent slots (it is being erased).
    void forget_recent(const detail::StatementSlot* slot) noexcept;
    /// A new slot for @p sql (lent out once the caller counts it), making room when the cache
    /// holds more than capacity() slots.
    detail::StatementSlot& add_slot(std::string_view sql);
    void give_back(detail::StatementSlot& slot, std::unique_ptr<Statement> statement) noexcept;

    std::size_t capacity_;
    std::size_t idle_ = 0;
    std::uint64_t generation_ = 0;  // bumped by clear(): leases from before do not come back
    Stats stats_;
    std::unique_ptr<Slots> slots_;
    std::vector<std::unique_ptr<Statement>> held_;  // by key (see hold())
    struct Recent {
        const std::string* key = nullptr;  // the slot's key in slots_ (nodes do not move)
        detail::StatementSlot* slot = nullptr;
    };
    static constexpr std::size_t recent_size = 8;
    std::array<Recent, recent_size> recent_{};
};

}  // namespace tocsin::db
