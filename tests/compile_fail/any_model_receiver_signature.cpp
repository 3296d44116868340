// pre_delete.connect(receiver) for every model, with a receiver missing the event.
#include <tocsin/models.hpp>

void connect() {
#ifdef TOCSIN_COMPILE_FAIL_CONTROL
    tocsin::pre_delete.connect([](tocsin::ModelBase&, const tocsin::DeleteEvent&) {});
#else
    tocsin::pre_delete.connect([](tocsin::ModelBase&) {});
#endif
}
