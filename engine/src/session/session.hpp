#pragma once
/// \file
/// The operations behind the public API (pkg/engine/install.hpp), with the cancellation handle
/// the asynchronous forms pass in. The blocking public functions call these with a handle
/// nobody cancels.

#include <pkg/engine/install.hpp>

#include "runtime/runtime.hpp"

namespace pkg::session {

/// `pkg::install` (see install.hpp for the contract). `cancel` stops it at its next suspension
/// point or between preparation steps; the result is then `std::errc::operation_canceled`.
[[nodiscard]] result<install_report> run_install(const install_options& options,
                                                 const io::cancel_handle& cancel);

/// `pkg::uninstall`, cancellable like `run_install`.
[[nodiscard]] result<uninstall_report> run_uninstall(const uninstall_options& options,
                                                     const io::cancel_handle& cancel);

/// `pkg::list`, cancellable before it starts.
[[nodiscard]] result<environment_listing> run_list(const environment_options& options,
                                                   const io::cancel_handle& cancel);

}  // namespace pkg::session
