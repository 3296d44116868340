// pre_migrate and post_migrate — sent by migrate() for every installed app, as Django's migrate
// command sends them: pre_migrate for each app before any table is created, post_migrate for each
// app once every table exists.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <tocsin/source_location.hpp>
#include <utility>
#include <vector>

#include "tocsin/apps/app_config.hpp"
#include "tocsin/dispatch.hpp"
#include "tocsin/models/signal_base.hpp"

namespace tocsin {

struct ModelInfo;

/// One step of a migration plan: a migration applied (or unapplied, `backwards`).
struct MigrationStep {
    std::string app;         ///< "blog"
    std::string name;        ///< "0002_post_views"
    bool backwards = false;  ///< unapplied
    bool operator==(const MigrationStep&) const = default;
};

/// What pre_migrate and post_migrate tell their receivers (Django's keyword arguments; Django's
/// `verbosity`, `interactive` and `apps` have no counterpart).
struct MigrateEvent {
    const AppConfig& app_config;  ///< the app migrated, also the sender (`app_config.sender()`)
    std::string_view database;    ///< the database alias migrated (Django's `using`)
    /// Every model whose table migrate() creates unless it exists, in creation order (referenced
    /// models first): the same list for every app of one migrate (Django's `plan`).
    const std::vector<const ModelInfo*>& plan;
    /// The migrations `manage migrate` applies (or unapplies), in order (Django's `plan`: a list
    /// of (migration, backwards)); empty for tocsin::migrate(), which has no migrations.
    std::vector<MigrationStep> migration_plan{};
};

/// A commit-time receiver of pre_migrate/post_migrate waits for the commit of the migrated
/// database and gets a copy of the event owning its alias and plan (the app stays the app's).
template <>
struct commit_copy<MigrateEvent> {
    /// The copy: an event whose `database` and `plan` point to `alias` and `plan`.
    struct Kept {
        explicit Kept(const MigrateEvent& e)
            : alias(e.database), plan(e.plan), event{e.app_config, alias, plan, e.migration_plan} {}
        Kept(const Kept&) = delete;
        Kept& operator=(const Kept&) = delete;
        ~Kept() = default;
        std::string alias;
        std::vector<const ModelInfo*> plan;
        MigrateEvent event;
    };
    /// Copies `event`; the receiver waits for the commit of `event.database`.
    static std::shared_ptr<const Kept> make(const MigrateEvent& event, CommitContext& context);
    /// The copy.
    static const MigrateEvent& get(const std::shared_ptr<const Kept>& kept) noexcept {
        return kept->event;
    }
};

/// A signal sent by migrate() once per installed app, the app being the sender (Django's
/// pre_migrate / post_migrate). Constant-initialised, so receivers may connect from static
/// initialisers in any order; the underlying Signal is created on first use. name(),
/// disconnect(), has_listeners(), receiver_count(), receivers() and signal() come from
/// detail::ModelLayerSignal.
class MigrateSignal : public detail::ModelLayerSignal<void(const MigrateEvent&)> {
  public:
    /// The underlying signal: receivers get the event (and the app's sender first if they ask).
    using signal_type = Signal<void(const MigrateEvent&)>;

    constexpr explicit MigrateSignal(std::string_view name) noexcept
        : detail::ModelLayerSignal<void(const MigrateEvent&)>(name) {}

    /// Connects `receiver(const MigrateEvent&)` (or with the sender first): for every app, or
    /// for one app with `{.sender = app.sender()}`. Options as for Signal::connect.
    template <class F>
    requires detail::receiver_for<F, const MigrateEvent&> Connection
    connect(F&& receiver, Connect options = {},
            tocsin::source_location where = tocsin::source_location::current())
    const { return this->connect_receiver(std::forward<F>(receiver), std::move(options), where); }

    /// Sends `event` for its app; the first receiver exception stops the send and propagates.
    void send(const MigrateEvent& event) const { send_from(event.app_config.sender(), event); }
};

/// Sent by migrate() for every installed app, in setup() order, before any table is created.
/// An exception from a receiver stops migrate(): no table is created.
inline constinit MigrateSignal pre_migrate{"pre_migrate"};
/// Sent by migrate() for every installed app, in setup() order, after every table is created
/// and committed: the place to create default rows (Django's default groups and permissions).
inline constinit MigrateSignal post_migrate{"post_migrate"};

namespace detail {
/// Creates both signals now; returns true.
bool create_migrate_signals();
/// Creates both signals during static initialisation, so that all_signals() lists them before
/// their first use (out of line: a file including this header compiles no Signal for them).
inline const bool migrate_signals_listed = create_migrate_signals();
}  // namespace detail

}  // namespace tocsin
