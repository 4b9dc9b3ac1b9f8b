// The one exception type the core throws. It carries a SQLSTATE so that the PostgreSQL
// layer can report the error with the code docs/reference.md promises, without the core
// knowing anything about PostgreSQL.
#pragma once
#include "seqguard/core/cpp_only.hpp"

#include <stdexcept>
#include <string>

namespace seqguard::core {

// SQLSTATEs used by seqguard (PostgreSQL's errcodes.txt names in comments).
namespace sqlstate {
inline constexpr const char* invalid_parameter_value = "22023";  // invalid_parameter_value
inline constexpr const char* numeric_value_out_of_range = "22003";
inline constexpr const char* null_value_not_allowed = "22004";
inline constexpr const char* string_data_length_mismatch = "22026";
inline constexpr const char* undefined_object = "42704";
inline constexpr const char* duplicate_object = "42710";
inline constexpr const char* undefined_column = "42703";
inline constexpr const char* insufficient_privilege = "42501";
inline constexpr const char* object_not_in_prerequisite_state = "55000";
inline constexpr const char* feature_not_supported = "0A000";
inline constexpr const char* internal_error = "XX000";
}  // namespace sqlstate

class Error : public std::runtime_error {
 public:
  Error(const char* state, std::string message, std::string detail = {}, std::string hint = {})
      : std::runtime_error(std::move(message)),
        state_(state),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  // Five characters, e.g. "22023".
  const char* sqlstate() const noexcept { return state_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  const char* state_;
  std::string detail_;
  std::string hint_;
};

}  // namespace seqguard::core
