// The trainer's --list-dropouts and --list-models: the registry's families and the zoo's networks, as text (one name
// a line) or JSON, so that scripts take their lists from the program instead of keeping their own.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bayesdrop/models/registry.hpp"
#include "bayesdrop/models/zoo.hpp"

namespace trainer {

/// Every registered family: [{"name", "help", "gates", "dense", "conv", "starts_from"}], in registry order.
inline nlohmann::json dropout_listing() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : bayesdrop::dropout_names()) {
    const bayesdrop::DropoutFamily& f = bayesdrop::dropout_family(name);
    out.push_back({{"name", f.name()},
                   {"help", f.help()},
                   {"gates", f.has_gates()},
                   {"dense", f.has_dense()},
                   {"conv", f.has_conv()},
                   {"starts_from", f.start_family()}});
  }
  return out;
}

/// Every network build_model knows: [{"name"}].
inline nlohmann::json model_listing() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : bayesdrop::model_names()) out.push_back({{"name", name}});
  return out;
}

/// The listing as the programs print it: the names one per line, or the JSON array (--json).
inline std::string print_listing(const nlohmann::json& listing, bool json) {
  if (json) return listing.dump(1) + "\n";
  std::string text;
  for (const auto& item : listing) text += item.at("name").get<std::string>() + "\n";
  return text;
}

/// --list-dropouts / --list-models [--json]: prints one listing on stdout and returns 0, or says on stderr what is
/// wrong with the combination and returns 2.
inline int list(bool dropouts, bool models, bool json, const char* program) {
  if (dropouts == models) {
    std::fprintf(stderr, "%s: %s\n", program,
                 dropouts ? "give one of --list-dropouts and --list-models"
                          : "--json goes with --list-dropouts or --list-models");
    return 2;
  }
  std::fputs(print_listing(dropouts ? dropout_listing() : model_listing(), json).c_str(), stdout);
  return 0;
}

}  // namespace trainer
