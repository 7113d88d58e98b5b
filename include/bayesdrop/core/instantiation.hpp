// Header-only or compiled: which translation unit instantiates the library's templates.
//
// Header-only (the default), every translation unit instantiates the layers and functions it uses. With the
// optional compiled library (CMake target bayesdrop::compiled, which defines BAYESDROP_COMPILED_LIB for its users),
// the headers declare the float and double instantiations of the layers, the model builders and the training loop
// `extern template`, and the library's sources (src/) define them once: a program compiles only its own code.
// Which specializations are declared here and defined there is listed beside each template, with
// BAYESDROP_EXTERN_CLASS_TEMPLATE or under `#if BAYESDROP_EXTERN_TEMPLATES`.
#pragma once

#if defined(BAYESDROP_COMPILED_LIB)
#define BAYESDROP_EXTERN_TEMPLATES 1
#else
#define BAYESDROP_EXTERN_TEMPLATES 0
#endif

#if BAYESDROP_EXTERN_TEMPLATES
/// Declares Name<float> and Name<double> instantiated in the compiled library (nothing when header-only).
#define BAYESDROP_EXTERN_CLASS_TEMPLATE(Name) \
  extern template class Name<float>;          \
  extern template class Name<double>;
#else
#define BAYESDROP_EXTERN_CLASS_TEMPLATE(Name)
#endif

#if BAYESDROP_EXTERN_TEMPLATES
#include <Eigen/Core>

// Eigen's alignment (set by the vector flags: -march=native, -mavx512f ...) decides how a matrix's memory is
// allocated and freed, so a program must be compiled with the same vector flags as the compiled library it links.
// Each side names the alignment it was compiled with; a mismatch fails at link time with an undefined reference to
// compiled_library_eigen_align_<bytes>, instead of freeing the library's matrices with the wrong allocator.
#define BAYESDROP_ALIGN_CHECK_NAME_(bytes) compiled_library_eigen_align_##bytes
#define BAYESDROP_ALIGN_CHECK_NAME(bytes) BAYESDROP_ALIGN_CHECK_NAME_(bytes)
namespace bayesdrop::detail {
int BAYESDROP_ALIGN_CHECK_NAME(EIGEN_MAX_ALIGN_BYTES)();
inline const int compiled_library_alignment = BAYESDROP_ALIGN_CHECK_NAME(EIGEN_MAX_ALIGN_BYTES)();
}  // namespace bayesdrop::detail
#endif
