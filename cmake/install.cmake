# Install rules of the project as a whole: the exported targets (pkg::io, pkg::engine, pkg::pkg),
# the CMake package (find_package(pkg 0.1)) and the pkg-config file. The targets and the public
# headers themselves are installed by io/, engine/ and cli/.
#
#   <prefix>/bin/pkg
#   <prefix>/include/pkg/{io,engine}/*.hpp
#   <prefix>/lib/libpkg-{io,engine}.a            (or .so.<version> with -DBUILD_SHARED_LIBS=ON)
#   <prefix>/lib/cmake/pkg/pkg{Config,ConfigVersion,Targets,Targets-<config>}.cmake
#   <prefix>/lib/pkgconfig/pkg-engine.pc
include(CMakePackageConfigHelpers)

set(PKG_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pkg)
get_target_property(_pkg_engine_type pkg_engine TYPE)
if(_pkg_engine_type STREQUAL "STATIC_LIBRARY")
  set(PKG_STATIC_LIBS ON)
else()
  set(PKG_STATIC_LIBS OFF)
endif()

install(EXPORT pkg-targets NAMESPACE pkg:: FILE pkgTargets.cmake
        DESTINATION ${PKG_CMAKE_INSTALL_DIR} COMPONENT development)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pkgConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/pkgConfig.cmake
                              INSTALL_DESTINATION ${PKG_CMAKE_INSTALL_DIR}
                              NO_SET_AND_CHECK_MACRO)
# Which installed versions satisfy find_package(pkg X.Y[.Z]): before 1.0 a minor release may break
# the API, so only the same MAJOR.MINOR with a patch >= the requested one (0.1 accepts 0.1.y,
# never 0.2.0); from 1.0 on, semantic versioning: the same MAJOR.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_pkg_compatibility SameMinorVersion)
else()
  set(_pkg_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pkgConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY ${_pkg_compatibility})
install(FILES ${PROJECT_BINARY_DIR}/pkgConfig.cmake ${PROJECT_BINARY_DIR}/pkgConfigVersion.cmake
        DESTINATION ${PKG_CMAKE_INSTALL_DIR} COMPONENT development)

# pkg-config: relocatable (paths relative to the .pc file's own directory), because the prefix is
# often only chosen at `cmake --install --prefix` time.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(PKG_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(PKG_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PKG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _pkg_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _pkg_pc_up "${_pkg_pc_up}")
  set(PKG_PC_PREFIX "\${pcfiledir}/${_pkg_pc_up}")
endif()
# A static pkg-engine needs its private dependencies when linking (`pkg-config --static`); a
# shared one carries them itself.
if(PKG_STATIC_LIBS)
  set(PKG_PC_REQUIRES_PRIVATE "Requires.private: openssl >= 3.0, liburing >= 2.3, libdeflate >= 1.14, simdjson, fmt, tomlplusplus")
  set(PKG_PC_LIBS_PRIVATE "Libs.private: -pthread")
else()
  set(PKG_PC_REQUIRES_PRIVATE "")
  set(PKG_PC_LIBS_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/pkg-engine.pc.in ${PROJECT_BINARY_DIR}/pkg-engine.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pkg-engine.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)
