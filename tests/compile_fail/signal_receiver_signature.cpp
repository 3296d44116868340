// Signal<void(int)>::connect with a receiver taking a std::string.
#include <string>
#include <tocsin/dispatch.hpp>

void connect(tocsin::Signal<void(int)>& signal) {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    signal.connect([](int) {});
#else
    signal.connect([](const std::string&) {});
#endif
}
