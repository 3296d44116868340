# Install rules for tocsin: the libraries (tocsin and tocsin_dispatch, and tocsin_admin when
# built), their headers, a CMake package (tocsinConfig.cmake, tocsinConfigVersion.cmake,
# tocsinTargets.cmake, tocsinAdminTargets.cmake) and pkg-config files (tocsin.pc,
# tocsin-dispatch.pc, tocsin-admin.pc).
#
# Consumers:
#   find_package(tocsin CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE tocsin::tocsin)     # or tocsin::dispatch: signals only
# or
#   g++ -std=c++20 main.cpp $(pkg-config --cflags --libs tocsin)   # or tocsin-dispatch
#
# How later layers (db, apps, ...) declare their dependencies, so that the installed package
# finds them again in a consumer's build:
#   * Link the imported target to `tocsin` as usual, e.g.
#       target_link_libraries(tocsin PUBLIC SQLite::SQLite3)
#     SQLite::SQLite3, PostgreSQL::PostgreSQL, fmt::fmt and nlohmann_json::nlohmann_json are
#     recognised here (find_dependency(<package>) and the pkg-config -l flag are generated).
#   * For anything else, append the package name(s) to the global property
#     TOCSIN_PUBLIC_DEPENDENCIES (a variable or cache entry of that name works too), e.g.
#       set_property(GLOBAL APPEND PROPERTY TOCSIN_PUBLIC_DEPENDENCIES PostgreSQL)
#     Each entry becomes `find_dependency(<entry>)` in tocsinConfig.cmake. "SQLite3" and
#     "Threads" are handled specially and may be listed too.
#   * Linker flags for pkg-config users of such a dependency go in the global property
#     TOCSIN_PKGCONFIG_LIBS, e.g.
#       set_property(GLOBAL APPEND PROPERTY TOCSIN_PKGCONFIG_LIBS -lpq)
#     (not needed for the targets above, Threads::Threads, ${CMAKE_DL_LIBS} or plain library
#     names linked to `tocsin`: those are translated automatically).
#
# This file must be included after every layer has added its sources and link libraries to
# `tocsin` (the top-level CMakeLists.txt includes it after add_subdirectory(src/db)).

include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Off by default when tocsin is built inside another project (add_subdirectory, FetchContent).
option(TOCSIN_INSTALL "Generate tocsin's install rules" ${PROJECT_IS_TOP_LEVEL})
if(NOT TOCSIN_INSTALL)
  return()
endif()

set(TOCSIN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tocsin"
    CACHE STRING "Where tocsinConfig.cmake is installed (relative to the prefix)")
set(TOCSIN_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where tocsin.pc is installed (relative to the prefix)")

# ---------------------------------------------------------------- targets and headers
# tocsin_install_targets(<export set> <target>...): the targets' libraries (shared: runtime and
# library with its namelink; static: archive) under the export set, the same way for each.
function(tocsin_install_targets export_set)
  install(TARGETS ${ARGN}
    EXPORT ${export_set}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tocsin_Runtime
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tocsin_Runtime
            NAMELINK_COMPONENT tocsin_Development
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tocsin_Development
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

tocsin_install_targets(tocsinTargets tocsin tocsin_dispatch)

# The admin (tocsin::admin) is an export set of its own: tocsinConfig.cmake loads it only when
# cpp-httplib is found, so a consumer without the admin needs no cpp-httplib.
set(TOCSIN_HAS_ADMIN OFF)
if(TARGET tocsin_admin)
  set(TOCSIN_HAS_ADMIN ON)
  tocsin_install_targets(tocsinAdminTargets tocsin_admin)
endif()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT tocsin_Development)

# ---------------------------------------------------------------- dependencies
# Everything `tocsin` links (directly; PRIVATE entries matter too, since the library is static
# by default and then they leak into the consumer's link line).
get_target_property(_tocsin_link tocsin LINK_LIBRARIES)
get_target_property(_tocsin_ilink tocsin INTERFACE_LINK_LIBRARIES)
set(_tocsin_all_links)
foreach(_item IN LISTS _tocsin_link _tocsin_ilink)
  if(NOT _item OR _item MATCHES "-NOTFOUND$" OR _item MATCHES "^::@")
    continue() # empty, or a directory marker of target_link_libraries() from another directory
  endif()
  # $<BUILD_INTERFACE:x>: used to build tocsin only (e.g. the header-only CLI11), not exported.
  if(_item MATCHES "^\\$<BUILD_INTERFACE:")
    continue()
  endif()
  # $<LINK_ONLY:x> and friends: keep the inner name.
  string(REGEX REPLACE "^\\$<[A-Z_]+:(.*)>$" "\\1" _item "${_item}")
  list(APPEND _tocsin_all_links "${_item}")
endforeach()
list(REMOVE_DUPLICATES _tocsin_all_links)

# Targets of this project linked to `tocsin` (e.g. `tocsin_warnings`, linked PRIVATE): for a
# static library CMake still records them, as $<LINK_ONLY:...>, in the exported interface, so
# they must belong to the export set. LINK_ONLY drops their compile options, so nothing of them
# reaches a consumer. (Linking them as $<BUILD_INTERFACE:...> keeps them out of the export.)
set(_tocsin_internal_deps)
foreach(_item IN LISTS _tocsin_all_links)
  if(TARGET "${_item}" AND NOT _item STREQUAL "tocsin" AND NOT _item STREQUAL "tocsin_dispatch")
    get_target_property(_imported "${_item}" IMPORTED)
    get_target_property(_aliased "${_item}" ALIASED_TARGET)
    if(NOT _imported AND NOT _aliased)
      list(APPEND _tocsin_internal_deps "${_item}")
    endif()
  endif()
endforeach()
if(_tocsin_internal_deps)
  install(TARGETS ${_tocsin_internal_deps}
    EXPORT tocsinTargets
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tocsin_Runtime
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tocsin_Runtime
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT tocsin_Development)
endif()

get_property(_tocsin_pub_deps GLOBAL PROPERTY TOCSIN_PUBLIC_DEPENDENCIES)
list(APPEND _tocsin_pub_deps ${TOCSIN_PUBLIC_DEPENDENCIES})

# Imported targets recognised on tocsin's link line: <target>|<package>|<pkg-config flags>.
set(_tocsin_known_deps
  "SQLite::SQLite3|SQLite3|-lsqlite3"
  "PostgreSQL::PostgreSQL|PostgreSQL|-lpq"
  "fmt::fmt|fmt|-lfmt"
  "nlohmann_json::nlohmann_json|nlohmann_json|")
set(_tocsin_known_pc_libs)
foreach(_known IN LISTS _tocsin_known_deps)
  string(REPLACE "|" ";" _known "${_known}")
  list(GET _known 0 _target)
  list(GET _known 1 _package)
  list(GET _known 2 _flags)
  if(_target IN_LIST _tocsin_all_links)
    list(APPEND _tocsin_pub_deps ${_package})
    list(APPEND _tocsin_known_pc_libs ${_flags})
  endif()
endforeach()
list(REMOVE_DUPLICATES _tocsin_pub_deps)

# SQLite3: from the link line or from the property.
set(TOCSIN_NEEDS_SQLITE3 OFF)
if("SQLite::SQLite3" IN_LIST _tocsin_all_links OR "SQLite3" IN_LIST _tocsin_pub_deps)
  set(TOCSIN_NEEDS_SQLITE3 ON)
endif()

# Other packages for find_dependency(), one line each, for the config template.
set(TOCSIN_EXTRA_FIND_DEPENDENCIES "")
foreach(_dep IN LISTS _tocsin_pub_deps)
  if(_dep STREQUAL "SQLite3" OR _dep STREQUAL "Threads" OR _dep STREQUAL "")
    continue()
  endif()
  string(APPEND TOCSIN_EXTRA_FIND_DEPENDENCIES "find_dependency(${_dep})\n")
endforeach()

# pkg-config link flags of the dependencies.
set(_tocsin_pc_libs)
foreach(_item IN LISTS _tocsin_all_links)
  if(_item STREQUAL "tocsin_warnings")
    continue()
  elseif(_item STREQUAL "Threads::Threads")
    list(APPEND _tocsin_pc_libs "-pthread")
  elseif(_item MATCHES "::" OR _item MATCHES "^\\$<")
    # An imported target (the known ones are handled above, in _tocsin_known_deps) or a
    # generator expression: the layer that added it declares its flags in TOCSIN_PKGCONFIG_LIBS.
    continue()
  elseif(_item MATCHES "^-")
    list(APPEND _tocsin_pc_libs "${_item}")
  elseif(IS_ABSOLUTE "${_item}")
    list(APPEND _tocsin_pc_libs "${_item}")
  elseif(TARGET "${_item}")
    continue() # a target of this project; nothing to add
  else()
    list(APPEND _tocsin_pc_libs "-l${_item}") # e.g. ${CMAKE_DL_LIBS} -> -ldl
  endif()
endforeach()
list(APPEND _tocsin_pc_libs ${_tocsin_known_pc_libs})
if(TOCSIN_NEEDS_SQLITE3)
  list(APPEND _tocsin_pc_libs "-lsqlite3")
endif()
get_property(_tocsin_pc_extra GLOBAL PROPERTY TOCSIN_PKGCONFIG_LIBS)
list(APPEND _tocsin_pc_libs ${_tocsin_pc_extra})
list(REMOVE_DUPLICATES _tocsin_pc_libs)
if(NOT "-pthread" IN_LIST _tocsin_pc_libs)
  list(PREPEND _tocsin_pc_libs "-pthread")
endif()
list(JOIN _tocsin_pc_libs " " TOCSIN_PC_DEPENDENCY_LIBS)

# ---------------------------------------------------------------- CMake package
install(EXPORT tocsinTargets
  NAMESPACE tocsin::
  DESTINATION ${TOCSIN_INSTALL_CMAKEDIR}
  COMPONENT tocsin_Development)
if(TOCSIN_HAS_ADMIN)
  install(EXPORT tocsinAdminTargets
    NAMESPACE tocsin::
    DESTINATION ${TOCSIN_INSTALL_CMAKEDIR}
    COMPONENT tocsin_Development)
endif()

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/tocsinConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tocsinConfig.cmake
  INSTALL_DESTINATION ${TOCSIN_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/tocsinConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  # 0.x: a minor version may break the API (CHANGELOG.md), so 0.2 accepts 0.2.* only.
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/tocsinConfig.cmake
  ${PROJECT_BINARY_DIR}/tocsinConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/TocsinMigrations.cmake
  DESTINATION ${TOCSIN_INSTALL_CMAKEDIR}
  COMPONENT tocsin_Development)

# ---------------------------------------------------------------- pkg-config
# Paths are written relative to the .pc file (${pcfiledir}) so the installed tree stays
# relocatable, like the CMake package: `cmake --install build --prefix /anywhere` works.
function(_tocsin_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${TOCSIN_INSTALL_PKGCONFIGDIR}")
  set(TOCSIN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # One "/.." per component of the pkgconfig dir, e.g. lib/pkgconfig -> ${pcfiledir}/../..
  string(REGEX REPLACE "[^/]+" ".." _tocsin_up "${TOCSIN_INSTALL_PKGCONFIGDIR}")
  string(REGEX REPLACE "/+$" "" _tocsin_up "${_tocsin_up}")
  set(TOCSIN_PC_PREFIX "\${pcfiledir}/${_tocsin_up}")
endif()
_tocsin_pc_path(TOCSIN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
_tocsin_pc_path(TOCSIN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
# Definitions a user's compile needs (TOCSIN_PORTABLE_BARRIER: the read side must match).
set(TOCSIN_PC_CFLAGS "")
if(TOCSIN_PORTABLE_BARRIER)
  set(TOCSIN_PC_CFLAGS " -DTOCSIN_PORTABLE_BARRIER=1")
endif()
set(TOCSIN_PC_DISPATCH_LIBS "-pthread")
foreach(_lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND TOCSIN_PC_DISPATCH_LIBS " -l${_lib}")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/tocsin.pc.in ${PROJECT_BINARY_DIR}/tocsin.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/tocsin-dispatch.pc.in
               ${PROJECT_BINARY_DIR}/tocsin-dispatch.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tocsin.pc ${PROJECT_BINARY_DIR}/tocsin-dispatch.pc
  DESTINATION ${TOCSIN_INSTALL_PKGCONFIGDIR}
  COMPONENT tocsin_Development)
if(TOCSIN_HAS_ADMIN)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tocsin-admin.pc.in
                 ${PROJECT_BINARY_DIR}/tocsin-admin.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/tocsin-admin.pc
    DESTINATION ${TOCSIN_INSTALL_PKGCONFIGDIR}
    COMPONENT tocsin_Development)
endif()
