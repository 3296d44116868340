// Fixtures: Django's JSON fixture format, read by loaddata() and written by dumpdata().
//
//   [{"model": "library.book", "pk": 1, "fields": {"author": 3, "title": "Dune"}}]
//
//   tocsin::loaddata("fixtures/library.json");           // one transaction, raw saves
//   std::string text = tocsin::dumpdata({.labels = {"library"}});
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/default_alias.hpp"
#include "tocsin/models/errors.hpp"

namespace tocsin {

/// A fixture cannot be loaded (or a dump cannot be written): bad JSON, not a list, an unknown
/// model or field, a value of the wrong type, NULL in a non-null field, a missing "fields", a
/// pk of INT64_MAX, a foreign key (or many-to-many target) to a row that does not exist, a
/// natural key that is malformed or names no row, a child's object without its parent's row,
/// a many-to-many value that is not a list of pks or natural keys, a database error while
/// saving. what() names the
/// file, the object (its index in the list, model label and pk) and the field when known:
/// "Problem installing fixture 'f.json': object at index 2 (library.book pk=7), field
/// 'author': library.author pk=99 does not exist".
class FixtureError : public ModelError {
  public:
    /// An error in `file` (a path, or the source name given to loaddata_json()); `object_index`
    /// is the object's position in the fixture's list, `model` and `pk` describe it when known
    /// ("library.book", "7"), `field` names the field (may be empty); `detail` says what is wrong.
    FixtureError(std::string file, std::optional<std::size_t> object_index, std::string model,
                 std::string pk, std::string field, const std::string& detail);

    /// The fixture file (or source name) the error is in.
    [[nodiscard]] const std::string& file() const noexcept { return file_; }
    /// The index (from 0) of the offending object in the fixture's list, if the error is in one.
    [[nodiscard]] const std::optional<std::size_t>& object_index() const noexcept {
        return object_index_;
    }
    /// The offending object's model label as written in the fixture ("library.book"), or empty.
    [[nodiscard]] const std::string& model() const noexcept { return model_; }
    /// The offending object's pk as written ("7"), or empty when it has none or is unknown.
    [[nodiscard]] const std::string& pk() const noexcept { return pk_; }
    /// The offending field's name, or empty when the error is not about one field.
    [[nodiscard]] const std::string& field() const noexcept { return field_; }
    /// What is wrong, without the file/object/field prefix.
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

  private:
    std::string file_;
    std::optional<std::size_t> object_index_;
    std::string model_;
    std::string pk_;
    std::string field_;
    std::string detail_;
};

/// Options of loaddata().
struct LoadOptions {
    std::string database{db::default_alias};  ///< the alias to load into
};

/// What loaddata() installed (Django's "Installed N object(s) from M fixture(s)").
struct LoadResult {
    std::size_t objects = 0;   ///< objects saved
    std::size_t fixtures = 0;  ///< fixture files (or texts) read
};

/// Loads the fixture `file` (Django's JSON format) into `options.database`: see the vector form.
LoadResult loaddata(const std::filesystem::path& file, const LoadOptions& options = {});

/// Loads the fixture files, in order, in ONE transaction: every file is parsed and validated
/// first; then each object is saved through save() with raw = true (pre_save/post_save see
/// `raw`; an object whose pk exists updates that row, else it is inserted with that pk, or with
/// a new id when "pk" is absent or null); then every foreign key written is checked. Foreign
/// keys between objects may appear in any order. A many-to-many field is a list of target pks
/// (`"groups": [1, 4]`): right after the object's save its relation is set to exactly that list
/// through the related manager's set() (m2m_changed is sent, as Django's deserializer does);
/// every target must exist at the end of the load. A many-to-many field absent from "fields"
/// leaves the relation as it is (empty for a new object). Fields absent from "fields" take the
/// model's default. Each object is built like a row read from the database: pre_init and post_init
/// are sent with InitEvent::row = the fixture's values ("id" first, NULL when there is no pk).
/// A child's object (multi-table inheritance) may carry inherited fields: they are checked and
/// set on the instance, but only the child's own table is written (Django's raw save); its
/// parent's row must exist at the end. Natural keys (see Model): a key or many-to-many target
/// given as a list is looked up with the target's get_by_natural_key() (one naming an object
/// saved later is set at the end of the load, the object saved again, as Django's deferred
/// fields; the key field must then be nullable); an object without pk of a model with a
/// natural key updates the row with its natural key, if any; a child's "<parent>_ptr" field
/// gives its pk.
/// Throws FixtureError (nothing loaded, the database as it was) on any problem; an exception
/// thrown by a signal receiver propagates as is, after the rollback.
LoadResult loaddata(const std::vector<std::filesystem::path>& files,
                    const LoadOptions& options = {});

/// Loads a fixture given as JSON text; `source_name` stands for the file name in errors.
LoadResult loaddata_json(std::string_view json_text, std::string_view source_name = "<string>",
                         const LoadOptions& options = {});

/// Options of dumpdata().
struct DumpOptions {
    /// What to dump: "auth.User" (one model, case-insensitive) or "auth" (every model of the
    /// app). Empty: every installed model (every model built so far when no app is installed).
    std::vector<std::string> labels{};
    std::string database{db::default_alias};  ///< the alias to read
    int indent = 2;  ///< spaces per level, in Django's layout; <= 0: everything on one line
    /// Django's --natural-foreign: a key (or many-to-many target) to a model with a natural key
    /// is written as that key, `"author": ["Ann"]`, not as the pk; models are then ordered so
    /// that the models keys are made from come first (Django's sort_dependencies).
    bool use_natural_foreign_keys = false;
    /// Django's --natural-primary: an object of a model with a natural key is written without
    /// "pk" (loaddata finds its row by natural key); a child of a multi-table inheritance then
    /// writes its link to its parent row first among its fields ("event_ptr").
    bool use_natural_primary_keys = false;
};

/// Writes the rows of the models `options` names as a Django JSON fixture that loaddata()
/// reads back unchanged: models in installed order (or the order labels name them; with
/// natural foreign keys, reordered as Django's sort_dependencies), rows by pk; keys as the
/// target pk (or null), many-to-many fields after the columns as lists of target pks ordered by
/// pk (`"groups": [1, 4]`; a symmetrical relation appears on both sides; natural keys instead
/// with the options above), time points as ISO 8601 UTC ("…T03:04:05.123Z", microseconds when
/// not whole milliseconds), booleans true/false, blobs base64, NULL null.
/// Throws ModelError for an unknown label or a value that JSON cannot carry (text that is not
/// UTF-8, a year outside 0–9999).
void dumpdata(std::ostream& out, const DumpOptions& options = {});

/// As above, returning the text.
[[nodiscard]] std::string dumpdata(const DumpOptions& options = {});

}  // namespace tocsin
