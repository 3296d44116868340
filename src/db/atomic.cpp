// tocsin::db::Atomic: Django's Atomic.__enter__/__exit__ as an RAII guard.
#include "tocsin/db/atomic.hpp"

#include <exception>
#include <optional>

#include "tocsin/db/error.hpp"
#include "tocsin/db/log.hpp"

namespace tocsin::db {
namespace {

std::string location(const tocsin::source_location& where) {
    return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

}  // namespace

Atomic::Atomic(std::string_view alias, tocsin::source_location where)
    : Atomic(AtomicOptions{.alias = alias}, where) {}

Atomic::Atomic(const AtomicOptions& options, tocsin::source_location where)
    : db_(&connection(options.alias, where)), uncaught_(std::uncaught_exceptions()), began_(where) {
    enter(options, where);
    active_ = true;
}

Atomic::~Atomic() noexcept(false) {
    if (!active_)
        return;
    if (std::uncaught_exceptions() > uncaught_) {
        // An exception thrown inside the block is unwinding the stack: roll back, and throw
        // nothing more (a second exception would terminate the program).
        try {
            exit(false, began_);
        } catch (const std::exception& e) {
            log(LogRecord{.level = LogLevel::error,
                          .logger = "tocsin.db",
                          .message = std::string("Error rolling back the atomic block begun at ") +
                                     location(began_) + " (" + e.what() + ").",
                          .error = std::current_exception()});
        } catch (...) {
            log(LogRecord{
                .level = LogLevel::error,
                .logger = "tocsin.db",
                .message = "Error rolling back the atomic block begun at " + location(began_) + ".",
                .error = std::current_exception()});
        }
        return;
    }
    exit(true, began_);
}

void Atomic::commit(tocsin::source_location where) {
    if (!active_) {
        throw TransactionManagementError(
            "this atomic block (begun at " + location(began_) + ") has already ended", where);
    }
    exit(true, where);
}

void Atomic::rollback(tocsin::source_location where) {
    if (!active_) {
        throw TransactionManagementError(
            "this atomic block (begun at " + location(began_) + ") has already ended", where);
    }
    exit(false, where);
}

void Atomic::enter(const AtomicOptions& options, tocsin::source_location where) {
    Database& db = *db_;
    if (options.durable && !db.atomic_blocks_.empty()) {
        throw TransactionManagementError(
            "A durable atomic block cannot be nested within another atomic block.", where);
    }
    bool entered_manual = false;
    if (!db.in_atomic_block_) {
        // Reset state when entering an outermost atomic block.
        db.commit_on_exit_ = true;
        db.needs_rollback_ = false;
        if (!db.autocommit_) {
            // Already in a (manual) transaction: behave as a nested block, and leave the
            // transaction open at the end.
            db.in_atomic_block_ = true;
            db.commit_on_exit_ = false;
            entered_manual = true;
        }
    }
    try {
        if (db.in_atomic_block_) {
            // Nested: a savepoint, unless told not to or a rollback is already pending (a
            // savepoint then would be useless and would hide needs_rollback).
            Database::SavepointEntry entry{
                {}, db.run_on_commit_.size(), db.before_commit_seq_, db.ran_before_commit_.size()};
            if (options.savepoint && !db.needs_rollback_ &&
                db.backend(where).features().supports_savepoints) {
                entry.name = db.create_savepoint(where);
            }
            db.savepoint_ids_.push_back(std::move(entry));
        } else {
            db.begin_transaction(where);
            db.autocommit_ = false;
            db.in_atomic_block_ = true;
        }
        db.atomic_blocks_.push_back(this);
    } catch (...) {
        if (entered_manual)
            db.in_atomic_block_ = false;
        throw;
    }
}

void Atomic::exit(bool success, tocsin::source_location where) {
    Database& db = *db_;
    // Misuse is refused before anything changes: the block stays open and can still be ended
    // properly.
    if (!db.on_owner_thread()) {
        throw TransactionManagementError("the atomic block begun at " + location(began_) +
                                             " must end on the thread that began it",
                                         where);
    }
    if (db.atomic_blocks_.empty() || db.atomic_blocks_.back() != this) {
        throw TransactionManagementError(
            "atomic blocks must end in the reverse order they began: the block begun at " +
                location(began_) + " is not the innermost one",
            where);
    }
    // The outermost block about to commit: its before_commit() callbacks run first, with the
    // block still open (they may use atomic blocks of their own). One that throws makes the block
    // roll back, and its exception propagates once that is done.
    std::exception_ptr before_commit_error;
    if (success && db.savepoint_ids_.empty() && !db.needs_rollback_ && !db.closed_in_transaction_ &&
        !db.before_commit_.empty()) {
        try {
            db.run_before_commit();
        } catch (...) {
            before_commit_error = std::current_exception();
            success = false;
        }
    }
    active_ = false;
    db.atomic_blocks_.pop_back();

    std::optional<Database::SavepointEntry> savepoint;
    if (!db.savepoint_ids_.empty()) {
        savepoint = std::move(db.savepoint_ids_.back());
        db.savepoint_ids_.pop_back();
    } else {
        // Unset now so that commit and rollback are allowed.
        db.in_atomic_block_ = false;
    }
    const bool has_savepoint = savepoint && !savepoint->name.empty();

    // What runs whatever happens above (Python's `finally`): leave the outermost block.
    auto leave = [&] {
        if (!db.in_atomic_block_) {
            if (db.closed_in_transaction_) {
                db.reset_transaction_state();  // the connection stays closed until next use
            } else {
                db.restore_autocommit(where);  // runs the on_commit callbacks after a commit
            }
        } else if (db.savepoint_ids_.empty() && !db.commit_on_exit_) {
            if (db.closed_in_transaction_) {
                db.reset_transaction_state();
            } else {
                db.in_atomic_block_ = false;
            }
        }
    };

    try {
        if (db.closed_in_transaction_) {
            // The database rolled back by itself when the connection closed.
        } else if (success && !db.needs_rollback_) {
            if (db.in_atomic_block_) {
                if (has_savepoint) {
                    try {
                        db.release_savepoint(savepoint->name, where);
                    } catch (const DatabaseError&) {
                        try {
                            db.rollback_to_savepoint(*savepoint, where);
                            db.release_savepoint(savepoint->name, where);
                        } catch (const Error&) {
                            db.needs_rollback_ = true;
                        }
                        throw;
                    }
                }
            } else {
                try {
                    db.commit_transaction(where);
                } catch (const DatabaseError&) {
                    try {
                        db.rollback_transaction(where);
                    } catch (const Error&) {
                        db.close();  // something is wrong with the connection: drop it
                    }
                    throw;
                }
            }
        } else {
            // Set again below when this block cannot roll back by itself.
            db.needs_rollback_ = false;
            if (db.in_atomic_block_) {
                if (!has_savepoint) {
                    db.needs_rollback_ = true;  // the enclosing block must roll back
                } else {
                    try {
                        db.rollback_to_savepoint(*savepoint, where);
                        db.release_savepoint(savepoint->name, where);
                    } catch (const Error&) {
                        db.needs_rollback_ = true;
                    }
                }
            } else {
                try {
                    db.rollback_transaction(where);
                } catch (const Error&) {
                    db.close();
                }
            }
        }
    } catch (...) {
        leave();
        throw;
    }
    leave();
    if (before_commit_error)
        std::rethrow_exception(before_commit_error);
}

}  // namespace tocsin::db
