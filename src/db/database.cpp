// tocsin::db::Database: one thread's connection under an alias, its transaction state and
// on_commit callbacks (the configured aliases, ConnectionHandler: connections.cpp).
#include "tocsin/db/database.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "tocsin/db/error.hpp"
#include "tocsin/db/log.hpp"
#include "tocsin/db/on_commit.hpp"
#include "tocsin/dispatch/commit_deferrer.hpp"
#include "tocsin/dispatch/outcome.hpp"

namespace tocsin::db {
namespace {

/// The calling thread's identity for Database::owner_: the address of a thread_local, unique
/// among running threads as std::thread::id is (kept out of the header: no <thread> there).
const void* this_thread_token() noexcept {
    thread_local char token = 0;
    return &token;
}

}  // namespace

// ---------------------------------------------------------------- Database

Database::Database(std::string alias, Settings settings)
    : alias_(std::move(alias)), settings_(std::move(settings)), owner_(this_thread_token()) {}

bool Database::on_owner_thread() const noexcept {
    return owner_ == this_thread_token();
}

Database::~Database() {
    close();
}

Backend& Database::backend(tocsin::source_location where) {
    if (backend_) [[likely]]
        return *backend_;
    if (closed_in_transaction_) {
        throw TransactionManagementError(
            "the connection to database \"" + alias_ +
                "\" was closed inside an atomic block; it cannot be used until the outermost "
                "block ends",
            where);
    }
    backend_ = open_backend(settings_, where);
    return *backend_;
}

void Database::close() noexcept {
    run_on_commit_.clear();
    before_commit_.clear();
    ran_before_commit_.clear();
    if (closed_in_transaction_ || !backend_)
        return;
    backend_.reset();  // closing rolls back whatever was not committed
    if (in_atomic_block_) {
        closed_in_transaction_ = true;
        needs_rollback_ = true;
    } else {
        autocommit_ = true;
        run_commit_hooks_on_autocommit_ = false;
    }
}

void Database::validate_no_atomic_block(tocsin::source_location where) const {
    if (in_atomic_block_) {
        throw TransactionManagementError("This is forbidden when an 'atomic' block is active.",
                                         where);
    }
}

void Database::validate_no_broken_transaction(tocsin::source_location where) const {
    if (closed_in_transaction_) {
        throw TransactionManagementError(
            "the connection to database \"" + alias_ +
                "\" was closed inside an atomic block; it cannot be used until the outermost "
                "block ends",
            where);
    }
    if (in_atomic_block_ && needs_rollback_) {
        throw TransactionManagementError(
            "An error occurred in the current transaction. You can't execute queries until the "
            "end of the 'atomic' block.",
            where);
    }
}

CachedStatement Database::statement(std::string_view sql, tocsin::source_location where) {
    validate_no_broken_transaction(where);
    if (backend_ && backend_->needs_attention()) [[unlikely]]
        attend_to_backend(where);
    return backend(where).cached(sql, where);
}

CachedStatement Database::scoped_statement(std::string_view sql, tocsin::source_location where) {
    validate_no_broken_transaction(where);
    if (backend_ && backend_->needs_attention()) [[unlikely]]
        attend_to_backend(where);
    return backend(where).cached_scoped(sql, where);
}

void Database::attend_to_backend(tocsin::source_location where) {
    if (backend_->connection_lost()) {
        if (in_atomic_block_ || !autocommit_) {
            // Never a silent retry: the transaction died with the connection.
            if (in_atomic_block_)
                needs_rollback_ = true;
            throw OperationalError(
                "the connection to " + backend_->display_name() +
                    " was lost inside a transaction, which the server rolled back; " +
                    (in_atomic_block_ ? std::string("no query can run until the outermost "
                                                    "atomic block ends, and the next query after "
                                                    "it reconnects")
                                      : std::string("call rollback(), and the next query "
                                                    "reconnects")),
                where);
        }
        backend_.reset();  // outside a transaction: the next use opens a new connection
        return;
    }
    if (in_atomic_block_ && backend_->transaction_aborted()) {
        // A statement failed in this block (perhaps one stepped without execute()/query(),
        // which note_statement_error() did not see): only the block's end may run now.
        needs_rollback_ = true;
        validate_no_broken_transaction(where);
    }
}

std::int64_t Database::execute(std::string_view sql, std::initializer_list<Value> params,
                               tocsin::source_location where) {
    return execute(sql, std::span<const Value>(params.begin(), params.size()), where);
}

std::int64_t Database::execute(std::string_view sql, std::span<const Value> params,
                               tocsin::source_location where) {
    auto st = scoped_statement(sql, where);
    st->bind_all_borrowed(params, where);
    return run_bound(*st, where);
}

std::int64_t Database::execute(std::string_view sql, std::span<const ValueRef> params,
                               tocsin::source_location where) {
    auto st = scoped_statement(sql, where);
    st->bind_views(params, where);
    return run_bound(*st, where);
}

std::int64_t Database::run_bound(Statement& statement, tocsin::source_location where) {
    try {
        return statement.run(where);
    } catch (const DatabaseError&) {
        note_statement_error();
        throw;
    }
}

std::vector<Row> Database::query(std::string_view sql, std::initializer_list<Value> params,
                                 tocsin::source_location where) {
    return query(sql, std::span<const Value>(params.begin(), params.size()), where);
}

std::vector<Row> Database::query(std::string_view sql, std::span<const Value> params,
                                 tocsin::source_location where) {
    auto st = scoped_statement(sql, where);
    st->bind_all_borrowed(params, where);
    std::vector<Row> rows;
    try {
        while (st->step(where))
            rows.push_back(st->row());
    } catch (const DatabaseError&) {
        note_statement_error();
        throw;
    }
    return rows;
}

std::optional<Value> Database::query_value(std::string_view sql,
                                           std::initializer_list<Value> params,
                                           tocsin::source_location where) {
    auto st = scoped_statement(sql, where);
    st->bind_all_borrowed(std::span<const Value>(params.begin(), params.size()), where);
    try {
        if (!st->step(where))
            return std::nullopt;
    } catch (const DatabaseError&) {
        note_statement_error();
        throw;
    }
    return st->column(0);
}

void Database::note_statement_error() noexcept {
    // On backends where a failed statement aborts the transaction (PostgreSQL), say so clearly
    // at the next query instead of letting the database refuse it obscurely.
    if (in_atomic_block_ && backend_ && backend_->features().statement_error_aborts_transaction)
        needs_rollback_ = true;
}

void Database::execute_script(std::string_view sql, tocsin::source_location where) {
    validate_no_broken_transaction(where);
    if (backend_ && backend_->needs_attention()) [[unlikely]]
        attend_to_backend(where);
    backend(where).execute_script(sql, where);
}

// ---------------------------------------------------------------- transaction primitives

void Database::run_control(const std::string& sql, tocsin::source_location where) {
    auto st = backend(where).cached(sql, where);
    st->run(where);
}

void Database::begin_transaction(tocsin::source_location where) {
    if (backend_ && !backend_->check_usable())
        backend_.reset();  // no transaction is open: a new connection is safe
    run_control(backend(where).begin_sql(), where);
}

void Database::commit_transaction(tocsin::source_location where) {
    run_control(backend(where).commit_sql(), where);
    ran_before_commit_.clear();
    run_commit_hooks_on_autocommit_ = true;
}

void Database::rollback_transaction(tocsin::source_location where) {
    // A transaction the database already ended by itself (SQLite does on some I/O errors) needs
    // no ROLLBACK; issuing one would only fail.
    if (backend_ && backend_->in_transaction())
        run_control(backend_->rollback_sql(), where);
    needs_rollback_ = false;
    run_on_commit_.clear();
    before_commit_.clear();
    ran_before_commit_.clear();
}

std::string Database::create_savepoint(tocsin::source_location where) {
    std::string name = "tocsin_sp" + std::to_string(savepoint_ids_.size() + 1);
    run_control(backend(where).savepoint_sql(name), where);
    return name;
}

void Database::release_savepoint(const std::string& name, tocsin::source_location where) {
    run_control(backend(where).release_savepoint_sql(name), where);
}

void Database::rollback_to_savepoint(const SavepointEntry& savepoint,
                                     tocsin::source_location where) {
    run_control(backend(where).rollback_to_savepoint_sql(savepoint.name), where);
    // Callbacks registered since the savepoint was made are exactly those registered in its
    // block or in blocks nested in it: the tail of the list.
    if (run_on_commit_.size() > savepoint.hook_mark)
        run_on_commit_.resize(savepoint.hook_mark);
    // Likewise the before_commit() callbacks registered since (those run early already wrote in
    // the savepoint: undone). Older ones run early since wrote in it too: they wait again.
    const std::uint64_t mark = savepoint.before_commit_mark;
    before_commit_.erase(std::find_if(before_commit_.begin(), before_commit_.end(),
                                      [mark](const BeforeCommitHook& h) { return h.seq >= mark; }),
                         before_commit_.end());
    if (ran_before_commit_.size() > savepoint.ran_mark) {
        for (std::size_t i = savepoint.ran_mark; i < ran_before_commit_.size(); ++i) {
            if (ran_before_commit_[i].seq < mark)
                before_commit_.push_back(std::move(ran_before_commit_[i]));
        }
        ran_before_commit_.resize(savepoint.ran_mark);
        std::stable_sort(
            before_commit_.begin(), before_commit_.end(),
            [](const BeforeCommitHook& a, const BeforeCommitHook& b) { return a.seq < b.seq; });
    }
}

void Database::restore_autocommit(tocsin::source_location) {
    autocommit_ = true;
    if (run_commit_hooks_on_autocommit_) {
        run_commit_hooks_on_autocommit_ = false;
        run_and_clear_commit_hooks();
    }
}

void Database::run_and_clear_commit_hooks() {
    // Swap the list out: callbacks registered by these callbacks go to a fresh list (and run at
    // the commit of the block that registered them, or at once in autocommit).
    std::vector<CommitHook> hooks = std::move(run_on_commit_);
    run_on_commit_.clear();
    for (CommitHook& hook : hooks)
        call_hook(hook, /*during_transaction=*/true);
}

void Database::call_hook(CommitHook& hook, bool during_transaction) {
    if (!hook.robust) {
        hook.fn();
        return;
    }
    try {
        hook.fn();
    } catch (...) {
        const std::exception_ptr error = std::current_exception();
        std::string name = hook.name;
        if (name.empty()) {
            name = "<callback at ";
            name += hook.where.file_name();
            name += ':';
            name += std::to_string(hook.where.line());
            name += '>';
        }
        const std::string message = "Error calling " + name + " in on_commit() " +
                                    (during_transaction ? "during transaction " : "") + "(" +
                                    describe_exception(error) + ").";
        log(LogRecord{
            .level = LogLevel::error, .logger = "tocsin.db", .message = message, .error = error});
    }
}

void Database::reset_transaction_state() noexcept {
    in_atomic_block_ = false;
    closed_in_transaction_ = false;
    needs_rollback_ = false;
    autocommit_ = true;
    commit_on_exit_ = true;
    run_commit_hooks_on_autocommit_ = false;
    savepoint_ids_.clear();
    run_on_commit_.clear();
    before_commit_.clear();
    ran_before_commit_.clear();
}

// ---------------------------------------------------------------- manual transactions

void Database::set_autocommit(bool autocommit, tocsin::source_location where) {
    validate_no_atomic_block(where);
    if (autocommit == autocommit_)
        return;
    if (!autocommit) {
        begin_transaction(where);
        autocommit_ = false;
        return;
    }
    if (backend_ && backend_->connection_lost())
        attend_to_backend(where);  // the transaction is lost: say so instead of a no-op commit
    if (backend_ && backend_->in_transaction()) {
        finish_before_commit(where);
        commit_transaction(where);
    }
    restore_autocommit(where);
}

void Database::commit(tocsin::source_location where) {
    validate_no_atomic_block(where);
    if (backend_ && backend_->connection_lost())
        attend_to_backend(where);  // the transaction is lost: say so instead of a no-op commit
    if (backend_ && backend_->in_transaction()) {
        finish_before_commit(where);
        commit_transaction(where);
    }
    if (!autocommit_)
        begin_transaction(where);
}

void Database::rollback(tocsin::source_location where) {
    validate_no_atomic_block(where);
    rollback_transaction(where);
    if (!autocommit_)
        begin_transaction(where);
}

void Database::set_rollback(bool rollback, tocsin::source_location where) {
    if (!in_atomic_block_) {
        throw TransactionManagementError(
            "The rollback flag doesn't work outside of an 'atomic' block.", where);
    }
    needs_rollback_ = rollback;
}

// ---------------------------------------------------------------- on_commit

void Database::on_commit(std::function<void()> fn, bool robust, std::string name,
                         tocsin::source_location where) {
    if (!fn)
        throw ProgrammingError("on_commit()'s callback must be a callable.", where);
    if (in_atomic_block_) {
        run_on_commit_.push_back(CommitHook{std::move(fn), robust, std::move(name), where});
    } else if (!autocommit_) {
        throw TransactionManagementError(
            "on_commit() cannot be used in manual transaction management", where);
    } else {
        CommitHook hook{std::move(fn), robust, std::move(name), where};
        call_hook(hook, /*during_transaction=*/false);
    }
}

// ---------------------------------------------------------------- before commit

void Database::before_commit(std::function<void()> fn) {
    if (!fn)
        throw ProgrammingError("before_commit()'s callback must be a callable.");
    if (!in_atomic_block_ && autocommit_) {
        fn();
        return;
    }
    before_commit_.push_back(BeforeCommitHook{std::move(fn), before_commit_seq_++});
}

void Database::run_before_commit() {
    // A callback may register more: take the list in turns until it stays empty.
    while (!before_commit_.empty()) {
        std::vector<BeforeCommitHook> hooks = std::move(before_commit_);
        before_commit_.clear();
        std::size_t i = 0;
        try {
            for (; i < hooks.size(); ++i) {
                hooks[i].fn();
                // Run inside a savepoint made after it was registered: remembered, to wait again
                // if that savepoint rolls back (at the commit no savepoint is open).
                if (!savepoint_ids_.empty() &&
                    hooks[i].seq < savepoint_ids_.back().before_commit_mark)
                    ran_before_commit_.push_back(std::move(hooks[i]));
            }
        } catch (...) {
            // Half of what belongs to the transaction may be written: the block must roll back.
            // The callback that threw and those after it wait again (a rolled-back savepoint
            // drops its own; the rest run at the commit).
            std::vector<BeforeCommitHook> registered = std::move(before_commit_);
            before_commit_.assign(std::make_move_iterator(hooks.begin() + static_cast<long>(i)),
                                  std::make_move_iterator(hooks.end()));
            before_commit_.insert(before_commit_.end(), std::make_move_iterator(registered.begin()),
                                  std::make_move_iterator(registered.end()));
            if (in_atomic_block_)
                needs_rollback_ = true;
            throw;
        }
    }
}

void Database::finish_before_commit(tocsin::source_location where) {
    try {
        run_before_commit();
    } catch (...) {
        rollback_transaction(where);
        if (!autocommit_)
            begin_transaction(where);
        throw;
    }
}

}  // namespace tocsin::db
