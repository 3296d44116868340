// tocsin::preview_removal() — what removing an object would remove, without removing anything
// (what Django's admin shows on its delete confirmation page: get_deleted_objects with its
// NestedObjects collector).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/models/model.hpp"

namespace tocsin {

/// What a removal would do, as the collector sees it now.
struct RemovalPreview {
    /// One row: its model and id (the type ProtectedError and RestrictedError name theirs with).
    using Object = ObjectRef;
    /// Every object the removal would remove and signal, in collection order (the object itself
    /// first, then the parents it extends and what cascades, model by model).
    std::vector<Object> objects;
    /// The objects referencing the removed ones through a PROTECT key, or through a RESTRICT key
    /// from outside the removal: each blocks it.
    std::vector<Object> blocking;
    /// Empty when the removal may run; otherwise the ProtectedError / RestrictedError message
    /// remove() would throw.
    std::string blocked;
};

/// What `instance.remove()` (of model `info`, on `database`: default the instance's, else
/// "default") would remove and what would block it. Reads rows (sending pre_init/post_init for
/// the objects it builds, as Django's collector does) but writes nothing and sends no delete
/// signal. Rows a removal deletes without reading them (fast deletes) are read here so that
/// they are listed. Throws ModelError when the instance has no id.
[[nodiscard]] RemovalPreview preview_removal(ModelBase& instance, const ModelInfo& info,
                                             std::string_view database = {});

/// preview_removal() for a model object.
template <class T>
[[nodiscard]] RemovalPreview preview_removal(T& instance, std::string_view database = {}) {
    return preview_removal(instance, T::info(), database);
}

}  // namespace tocsin
