#include "tocsin/models/model_info.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

#include "tocsin/db/backend.hpp"
#include "tocsin/models/bulk_signals.hpp"
#include "tocsin/models/many_to_many.hpp"
#include "tocsin/models/model.hpp"

namespace tocsin {

namespace {
std::mutex& models_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::vector<const ModelInfo*>& models_list() {
    static auto* v = new std::vector<const ModelInfo*>;
    return *v;
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

namespace detail {

std::shared_ptr<ModelBase> clone_model(const Sender& model, const ModelBase& instance) {
    const ModelInfo* info = find_model_info(model);
    if (info == nullptr || !info->clone) {
        throw std::logic_error("a commit-time receiver got an instance of " + model.name() +
                               ", which is not a model tocsin knows (send model signals with the "
                               "model as sender)");
    }
    return info->clone(instance);
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
    link_model_info(info, concrete.parent);
    info.pk_column = concrete.pk_column;
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

}  // namespace detail
}  // namespace tocsin
