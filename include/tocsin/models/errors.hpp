// The model layer's exceptions: what went wrong, naming the model and the field.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tocsin/db/error.hpp"

namespace tocsin {

/// get() found no row (Django's Model.DoesNotExist): "User matching query does not exist."
class DoesNotExist : public std::runtime_error {
  public:
    explicit DoesNotExist(const std::string& model)
        : std::runtime_error(model + " matching query does not exist."), model_(model) {}
    [[nodiscard]] const std::string& model() const noexcept { return model_; }

  private:
    std::string model_;
};

/// get() found several rows: "get() returned more than one User -- it returned 2!", or, when
/// it read its limit of 21 rows (Django's MAX_GET_RESULTS), "… -- it returned more than 20!".
class MultipleObjectsReturned : public std::runtime_error {
  public:
    MultipleObjectsReturned(const std::string& model, std::size_t count)
        : std::runtime_error("get() returned more than one " + model + " -- it returned " +
                             (count > 20 ? std::string("more than 20") : std::to_string(count)) +
                             "!") {}
};

struct ModelInfo;

/// One object a ProtectedError or RestrictedError names: its model and id. (Django's
/// protected_objects / restricted_objects hold the instances: load one with its model's
/// objects(), `get(where(&ModelBase::id) == ref.id)`.)
struct ObjectRef {
    const ModelInfo* model = nullptr;  ///< its model's description
    std::int64_t id = 0;               ///< its id

    friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
};

/// A removal would remove rows referenced through a PROTECT foreign key (Django's
/// ProtectedError(msg, protected_objects), an IntegrityError). Thrown before any signal, with
/// nothing removed; what() is the message alone: "Cannot delete some instances of model 'Book'
/// because they are referenced through protected foreign keys: 'Loan.book'."
class ProtectedError : public db::IntegrityError {
  public:
    /// An error saying `message`, naming the objects whose PROTECT keys refuse the removal.
    explicit ProtectedError(std::string message, std::vector<ObjectRef> protected_objects = {});
    /// The objects referencing the removed ones through a PROTECT key, each once, in the order
    /// the collector met them (Django's `protected_objects`).
    [[nodiscard]] const std::vector<ObjectRef>& protected_objects() const noexcept {
        return objects_;
    }

  private:
    std::vector<ObjectRef> objects_;
};

/// A removal would remove rows referenced through a RESTRICT foreign key from a row it does not
/// remove itself (Django's RestrictedError(msg, restricted_objects), an IntegrityError). Thrown
/// before any signal, with nothing removed; what() is the message alone.
class RestrictedError : public db::IntegrityError {
  public:
    /// An error saying `message`, naming the objects whose RESTRICT keys refuse the removal.
    explicit RestrictedError(std::string message, std::vector<ObjectRef> restricted_objects = {});
    /// The objects outside the removal referencing removed ones through a RESTRICT key, each
    /// once, in the order the collector met them (Django's `restricted_objects`).
    [[nodiscard]] const std::vector<ObjectRef>& restricted_objects() const noexcept {
        return objects_;
    }

  private:
    std::vector<ObjectRef> objects_;
};

/// A model was used wrongly: an unknown update_fields name, saving with an unsaved related
/// object, removing an unsaved instance (Django's ValueError).
class ModelError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

}  // namespace tocsin
