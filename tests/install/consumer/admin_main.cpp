// A consumer of the installed admin (tocsin::admin, or pkg-config's tocsin-admin) that also
// includes <tocsin/remote.hpp>, whose headers need nlohmann_json: escape a value, parse
// runserver's address, and use the JSON library the remote headers bring.
#include <tocsin/admin.hpp>
#include <tocsin/remote.hpp>

#include <cstdio>
#include <string>

int main() {
    const std::string escaped = tocsin::admin::escape("<script>&");
    const auto [host, port] = tocsin::admin::parse_address("8001", "127.0.0.1");
    const std::string encoded = nlohmann::json::array({"hi", 42}).dump();
    if (escaped != "&lt;script&gt;&amp;" || host != "127.0.0.1" || port != 8001 ||
        encoded != "[\"hi\",42]") {
        std::fprintf(stderr, "admin consumer: %s %s:%d %s\n", escaped.c_str(), host.c_str(), port,
                     encoded.c_str());
        return 1;
    }
    std::printf("admin consumer: ok\n");
    return 0;
}
