#include "tocsin/models/model_info.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "tocsin/db/backend.hpp"
#include "tocsin/models/bulk_signals.hpp"
#include "tocsin/models/many_to_many.hpp"
#include "tocsin/models/model.hpp"

namespace tocsin {

ModelState::ModelState(const ModelState& other) = default;
ModelState::ModelState(ModelState&& other) noexcept = default;
ModelState& ModelState::operator=(const ModelState& other) = default;
ModelState& ModelState::operator=(ModelState&& other) noexcept = default;
ModelState::~ModelState() = default;

ModelBase::ModelBase(const ModelBase& other) = default;
ModelBase::ModelBase(ModelBase&& other) noexcept = default;
ModelBase& ModelBase::operator=(const ModelBase& other) = default;
ModelBase& ModelBase::operator=(ModelBase&& other) noexcept = default;
ModelBase::~ModelBase() = default;

namespace {
std::mutex& models_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::vector<const ModelInfo*>& models_list() {
    static auto* v = new std::vector<const ModelInfo*>;
    return *v;
}
/// related_objects() of every concrete model, built from models_list() on first use after a
/// model registers; `built_for` is the number of models it was built from (both guarded by
/// models_mutex()).
using RelatedIndex = std::unordered_map<const ModelInfo*, RelatedObjects>;
struct RelatedCache {
    std::shared_ptr<const RelatedIndex> index;
    std::size_t built_for = 0;
};
RelatedCache& related_cache() {
    static auto* cache = new RelatedCache;
    return *cache;
}

RelatedIndex build_related_index(const std::vector<const ModelInfo*>& models) {
    RelatedIndex index;
    for (const ModelInfo* m : models) {
        if (m->proxy_for != nullptr) {
            continue;  // a proxy's relations are its concrete model's
        }
        // One entry per (referenced model, m), in the order the collector has always used.
        std::unordered_map<const ModelInfo*, RelatedObjects::Related*> mine;
        const auto entry = [&](const ModelInfo* target) -> RelatedObjects::Related& {
            auto& slot = mine[target];
            if (slot == nullptr) {
                auto& list = index[target].related;
                list.push_back({.model = m});
                slot = &list.back();
            }
            return *slot;
        };
        for (const ManyToManyInfo& relation : m->many_to_many) {
            const ModelInfo* target = &relation.target().concrete();
            entry(m).through.push_back(
                {.relation = &relation, .as_source = true, .as_target = target == m});
            if (target != m) {
                entry(target).through.push_back({.relation = &relation, .as_target = true});
            }
        }
        if (m->parent != nullptr) {
            entry(m->parent).is_child = true;
        }
        for (const FieldInfo& field : m->fields) {
            if (field.is_relation && field.on_delete != OnDelete::do_nothing) {
                entry(&field.target().concrete()).keys.push_back(&field);
            }
        }
    }
    return index;
}
}  // namespace

const FieldInfo* ModelInfo::field(std::string_view name) const noexcept {
    for (const FieldInfo* f : all_fields) {
        if (f->name == name) {
            return f;
        }
    }
    return nullptr;
}

const ManyToManyInfo* ModelInfo::relation(std::string_view name) const noexcept {
    for (const auto& r : many_to_many) {
        if (r.name == name) {
            return &r;
        }
    }
    return nullptr;
}

std::string ModelInfo::select_list(const db::Backend& backend) const {
    std::string out = backend.quote_name("id");
    for (const FieldInfo* f : all_fields) {
        out += ", ";
        out += backend.quote_name(f->column);
    }
    return out;
}

std::vector<const ModelInfo*> ModelInfo::ancestors() const {
    std::vector<const ModelInfo*> out;
    for (const ModelInfo* m = parent; m != nullptr; m = m->parent) {
        out.push_back(m);
    }
    return out;
}

bool ModelInfo::is_or_extends(const ModelInfo& other) const noexcept {
    for (const ModelInfo* m = this; m != nullptr; m = m->parent) {
        if (m == &other) {
            return true;
        }
    }
    return false;
}

std::vector<const ModelInfo*> all_models() {
    std::lock_guard lock(models_mutex());
    return models_list();
}

const ModelInfo* find_model_info(const Sender& model) {
    std::lock_guard lock(models_mutex());
    for (const ModelInfo* info : models_list()) {
        if (info->sender == model) {
            return info;
        }
    }
    return nullptr;
}

const ModelInfo* find_model_info(std::string_view label) {
    const auto lower = [](std::string_view text) {
        std::string out(text);
        for (char& c : out) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return out;
    };
    const std::string wanted = lower(label);
    std::lock_guard lock(models_mutex());
    for (const ModelInfo* m : models_list()) {
        if (lower(m->app_label) + "." + lower(m->model_name) == wanted) {
            return m;
        }
    }
    return nullptr;
}

std::shared_ptr<const RelatedObjects> related_objects(const ModelInfo& model) {
    static const auto* none = new RelatedObjects;
    std::shared_ptr<const RelatedIndex> index;
    for (;;) {
        std::vector<const ModelInfo*> models;
        {
            std::lock_guard lock(models_mutex());
            const auto& cache = related_cache();
            if (cache.index && cache.built_for == models_list().size()) {
                index = cache.index;
                break;
            }
            models = models_list();
        }
        // Built outside the lock: a relation's target() may build (and register) its model.
        auto built = std::make_shared<const RelatedIndex>(build_related_index(models));
        std::lock_guard lock(models_mutex());
        if (models_list().size() == models.size()) {
            related_cache() = {built, models.size()};
            index = std::move(built);
            break;
        }  // a model registered meanwhile: build again
    }
    const auto found = index->find(&model.concrete());
    if (found == index->end()) {
        return {index, none};  // aliasing: nothing to free
    }
    return {index, &found->second};
}

std::vector<const ModelInfo*> subclasses_of(const ModelInfo& model) {
    std::vector<const ModelInfo*> out;
    for (const ModelInfo* m : all_models()) {
        if (m != &model && m->is_or_extends(model)) {
            out.push_back(m);
        }
    }
    return out;
}

Signal<void(const ModelInfo&)>& class_prepared() {
    static auto* signal = new Signal<void(const ModelInfo&)>("class_prepared");
    return *signal;
}

std::shared_ptr<ModelBase> commit_copy<ModelBase>::make(const ModelBase& instance,
                                                        CommitContext& context) {
    const ModelInfo* info = find_model_info(context.sender);
    if (info == nullptr || !info->clone) {
        throw std::logic_error("a commit-time receiver got an instance of " +
                               context.sender.name() +
                               ", which is not a model tocsin knows (send model signals with the "
                               "model as sender)");
    }
    std::shared_ptr<ModelBase> copy = info->clone(instance);
    context.original = &instance;
    context.copy = copy;
    return copy;
}

commit_copy<SaveEvent>::Kept::Kept(const SaveEvent& e) : alias(e.database), event(e) {
    event.database = alias;
    event.tracking = nullptr;  // valid during the send only: changes() is not kept
}

std::shared_ptr<const commit_copy<SaveEvent>::Kept> commit_copy<SaveEvent>::make(
    const SaveEvent& event, CommitContext& context) {
    context.alias = event.database;
    return std::make_shared<const Kept>(event);
}

commit_copy<DeleteEvent>::Kept::Kept(const DeleteEvent& e, const CommitContext& context)
    : alias(e.database),
      origin(e.origin.instance != nullptr && e.origin.instance == context.original ? context.copy
                                                                                   : nullptr),
      event(e) {
    event.database = alias;
    event.origin.instance = static_cast<const ModelBase*>(origin.get());
    event.origin.queryset = nullptr;
}

std::shared_ptr<const commit_copy<DeleteEvent>::Kept> commit_copy<DeleteEvent>::make(
    const DeleteEvent& event, CommitContext& context) {
    context.alias = event.database;
    return std::make_shared<const Kept>(event, context);
}

namespace detail {

std::shared_ptr<Connection> note_model_use(std::string_view signal_name, std::string_view label,
                                           const Sender& model, const Connect& options,
                                           const void* code, std::string_view type) {
    auto connection = std::make_shared<Connection>();
    Apps::instance().note_model_use(
        label, model,
        [signal_name, name = options.name, uid = options.dispatch_uid, code, type] {
            return "The function '" + receiver_name(name, uid, code, type) +
                   "' was connected to the '" + std::string(signal_name) + "' signal for it.";
        },
        [connection] { return connection->connected(); });
    return connection;
}

std::string describe_sent_instance(const void* instance, const void* model) {
    const auto& sender = *static_cast<const Sender*>(model);
    const auto& object = *static_cast<const ModelBase*>(instance);
    const ModelInfo* info = find_model_info(sender);
    std::string text = info != nullptr ? info->label() : sender.name();
    return object.id ? text + " #" + std::to_string(*object.id) : text + " (unsaved)";
}

bool create_model_signals() {
    static_cast<void>(pre_init.signal());
    static_cast<void>(post_init.signal());
    static_cast<void>(pre_save.signal());
    static_cast<void>(post_save.signal());
    static_cast<void>(pre_delete.signal());
    static_cast<void>(post_delete.signal());
    static_cast<void>(class_prepared());
    static_cast<void>(m2m_changed.signal());
    static_cast<void>(post_bulk_create.signal());
    static_cast<void>(post_update.signal());
    return true;
}

namespace {
/// An action waiting for models (watch_models).
struct ModelHook {
    Sender model;
    bool subclasses = false;
    std::function<void(const ModelInfo&)> action;
    std::function<bool()> alive;

    [[nodiscard]] bool matches(const ModelInfo& info) const noexcept {
        if (info.sender == model) {
            return true;
        }
        if (subclasses) {
            for (const ModelInfo* m = info.parent; m != nullptr; m = m->parent) {
                if (m->sender == model) {
                    return true;
                }
            }
        }
        return false;
    }
};
std::mutex& hooks_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::vector<ModelHook>& hooks_list() {
    static auto* v = new std::vector<ModelHook>;
    return *v;
}
}  // namespace

void link_model_info(ModelInfo& info, const ModelInfo* parent) {
    info.parent = parent;
    info.all_fields.clear();
    if (parent != nullptr) {
        // Django's parent link: a one-to-one field "<parent>_ptr", column "<parent>_ptr_id".
        info.pk_column.clear();
        for (const char c : parent->model_name) {
            info.pk_column += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        info.pk_column += "_ptr_id";
        info.all_fields = parent->all_fields;
        for (const FieldInfo& own : info.fields) {
            for (const FieldInfo* inherited : parent->all_fields) {
                if (own.name == inherited->name || own.column == inherited->column) {
                    throw ModelError("Local field '" + own.name + "' in class '" + info.model_name +
                                     "' clashes with field '" + inherited->name + "' (column '" +
                                     inherited->column + "') from base class '" +
                                     parent->model_name + "'.");
                }
            }
        }
    }
    for (const FieldInfo& own : info.fields) {
        info.all_fields.push_back(&own);
    }
}

void make_proxy_info(ModelInfo& info, const ModelInfo& target) {
    const ModelInfo& concrete = target.concrete();
    info.proxy_for = &concrete;
    info.table = concrete.table;
    info.fields = concrete.fields;  // the accessors cast to the concrete type, a base of the proxy
    info.view_fields = concrete.view_fields;
    link_model_info(info, concrete.parent);
    info.pk_column = concrete.pk_column;
}

const ModelInfo* finish_model_info(ModelInfo* info, const ModelInfo* parent,
                                   std::string_view parent_label, const Sender& parent_sender,
                                   bool proxy) {
    std::unique_ptr<ModelInfo> i(info);
    if (parent != nullptr) {
        // Django's parent link "<parent>_ptr": the parent must be installed too.
        i->references.insert(i->references.begin(), {parent_link_name(parent->model_name),
                                                     std::string(parent_label), parent_sender});
    }
    if (proxy) {
        make_proxy_info(*i, *parent);
    } else {
        link_model_info(*i, parent);  // throws on a clash: nothing registered
    }
    const ModelInfo* built = i.release();
    register_model_info(built);
    return built;
}

void register_model_info(const ModelInfo* info) {
    {
        std::lock_guard lock(models_mutex());
        models_list().push_back(info);
    }
    {
        // After the model is listed: a watch_models() running now either sees it in
        // all_models() or has its hook listed before this runs (both are idempotent).
        std::lock_guard lock(hooks_mutex());
        auto& hooks = hooks_list();
        std::erase_if(hooks, [](const ModelHook& h) { return !h.alive(); });
        for (const ModelHook& h : hooks) {
            if (h.matches(*info)) {
                h.action(*info);
            }
        }
    }
    class_prepared().send(info->sender, *info);
}

void watch_models(const Sender& model, bool subclasses,
                  std::function<void(const ModelInfo&)> action, std::function<bool()> alive) {
    ModelHook hook{model, subclasses, std::move(action), std::move(alive)};
    std::lock_guard lock(hooks_mutex());
    for (const ModelInfo* m : all_models()) {
        if (hook.matches(*m)) {
            hook.action(*m);
        }
    }
    auto& hooks = hooks_list();
    std::erase_if(hooks, [](const ModelHook& h) { return !h.alive(); });
    hooks.push_back(std::move(hook));
}

void enable_change_tracking(const ModelInfo& model) {
    model.tracks_changes_.store(true, std::memory_order_relaxed);
}

std::string parent_link_name(std::string_view parent_model_name) {
    std::string name;
    for (const char c : parent_model_name) {
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name + "_ptr";
}

std::string default_table(std::string_view app_label, std::string_view model_name) {
    std::string table(app_label);
    table += '_';
    for (const char c : model_name) {
        table += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return table;
}

void set_instance_functions(ModelInfo& info, ModelBase* (*make)(),
                            ModelBase* (*copy)(const ModelBase&),
                            void (*destroy)(ModelBase*) noexcept) {
    // The deleter is given to the shared pointer before anything can throw: a failed
    // allocation of its control block deletes the instance through it.
    info.make = [make, destroy] { return std::shared_ptr<ModelBase>(make(), destroy); };
    info.clone = [copy, destroy](const ModelBase& instance) {
        return std::shared_ptr<ModelBase>(copy(instance), destroy);
    };
}

// The accessors of the common member types, compiled here once (declared extern in model.hpp).
#define TOCSIN_DETAIL_INSTANTIATE_MEMBER_ACCESSORS(M) TOCSIN_DETAIL_MEMBER_ACCESSORS(, M)
TOCSIN_DETAIL_MEMBER_TYPES(TOCSIN_DETAIL_INSTANTIATE_MEMBER_ACCESSORS)
#undef TOCSIN_DETAIL_INSTANTIATE_MEMBER_ACCESSORS

}  // namespace detail
}  // namespace tocsin
