// The one compile of the descriptions of the models of extern_models.hpp.
#include "extern_models.hpp"

TOCSIN_INSTANTIATE_MODEL(extern_models::Shelf);
TOCSIN_INSTANTIATE_MODEL(extern_models::Volume);
TOCSIN_INSTANTIATE_MODEL(extern_models::Annex);
