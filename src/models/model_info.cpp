#include "tocsin/models/model_info.hpp"

#include <cctype>
#include <mutex>
#include <stdexcept>

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
    for (const auto& f : fields) {
        if (f.name == name) {
            return &f;
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

std::string ModelInfo::select_list(std::string_view quote_prefix) const {
    std::string out = std::string(quote_prefix) + "\"id\"";
    for (const auto& f : fields) {
        out += ", ";
        out += quote_prefix;
        out += "\"" + f.column + "\"";
    }
    return out;
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

void register_model_info(const ModelInfo* info) {
    {
        std::lock_guard lock(models_mutex());
        models_list().push_back(info);
    }
    class_prepared().send(info->sender, *info);
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
