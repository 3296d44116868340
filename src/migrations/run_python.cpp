#include "tocsin/migrations/run_python.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

namespace tocsin::migrations {

namespace {
std::mutex& functions_mutex() {
    static auto* m = new std::mutex;
    return *m;
}
std::map<std::string, PythonFunction, std::less<>>& functions() {
    static auto* f = new std::map<std::string, PythonFunction, std::less<>>;
    return *f;
}
}  // namespace

void RunPythonContext::at_row(std::string_view table, const db::Value& pk) const {
    current_row = "the row with pk " + db::to_string(pk) + " of \"";
    current_row += table;
    current_row += "\"";
}

void register_python(std::string name, PythonFunction function) {
    if (name.empty() || name == "noop" || !function) {
        throw std::invalid_argument(
            "register_python: a data migration function needs a name "
            "other than \"noop\" and a callable (got '" +
            name + "')");
    }
    std::lock_guard lock(functions_mutex());
    functions()[std::move(name)] = std::move(function);
}

const PythonFunction* find_python(std::string_view name) {
    std::lock_guard lock(functions_mutex());
    const auto it = functions().find(name);
    return it == functions().end() ? nullptr : &it->second;  // map nodes stay put
}

}  // namespace tocsin::migrations
