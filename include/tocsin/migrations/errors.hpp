// tocsin::migrations::MigrationError — what the migration layer throws for a problem its user can
// fix: a malformed migration file, a missing dependency, an operation that failed.
#pragma once

#include <stdexcept>

namespace tocsin::migrations {

/// A migration cannot be read, planned or applied; what() says which one and why.
class MigrationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace tocsin::migrations
