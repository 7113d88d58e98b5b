// bayesdrop-mnist's checks of a run before its work (outputs, restarts, resumes) and the settings its checkpoints
// record.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/outputs.hpp"
#include "../common/run_checks.hpp"
#include "bayesdrop/bayesdrop.hpp"
#include "settings.hpp"

namespace trainer {

inline nlohmann::json spec_json(const bd::ModelSpec& s) {
  return {{"model", s.model}, {"dropout", s.dropout}, {"p_input", s.p_input}, {"p_hidden", s.p_hidden}};
}

// Every output is checked (its folder created) before the work, so an unwritable path costs no training.
inline void check_outputs(const Settings& opt) {
  if (!opt.report.empty()) outputs::check_output_file(opt.report, "--report");
  if (!opt.save.empty()) outputs::check_replaced_file(opt.save, "--save");
  if (!opt.pictures.empty()) outputs::check_output_folder(opt.pictures, "--pictures");
  if (!opt.checkpoint.empty()) outputs::check_replaced_file(opt.checkpoint, "--checkpoint");
}

// No output may be one of the run's inputs (the data files, --init-from, --resume, --load) or another output: refused
// before anything is read or written, naming both flags. --checkpoint onto --resume is how a resumed run goes on
// checkpointing into its file.
inline void check_outputs_apart(const Settings& opt, const std::string& data_dir) {
  std::vector<outputs::FlagPath> inputs = run_checks::data_files(data_dir, "--data", {"train", "t10k"});
  inputs.push_back({"--init-from", opt.init_from});
  inputs.push_back({"--resume", opt.resume});
  inputs.push_back({"--load", opt.load});
  const std::string picture = opt.pictures.empty() ? "" : opt.pictures + "/input_pixels.png";
  outputs::check_outputs_apart(
      {{"--checkpoint", opt.checkpoint}, {"--save", opt.save}, {"--report", opt.report}, {"--pictures", picture}},
      inputs, {{"--checkpoint", "--resume"}});
}

// The file the checkpoints replace: --checkpoint's, or the file at the end of its chain of symlinks (the link stays a
// link), as --save follows one.
inline std::string checkpoint_file(const Settings& opt) {
  return opt.checkpoint.empty() ? "" : outputs::write_target(opt.checkpoint, "--checkpoint").string();
}

// A run started without --resume over a file that holds a checkpoint would replace that run's progress after its
// first epoch: refused, saying how to continue it or to start over.
inline void check_not_restarted(const Settings& opt) {
  if (opt.checkpoint.empty() || !opt.resume.empty() || !bd::is_checkpoint_file(opt.checkpoint)) return;
  throw bd::InvalidArgument("--checkpoint '" + opt.checkpoint +
                            "' already holds a checkpoint of a run; pass --resume " + opt.checkpoint +
                            " to continue it, or remove the file to start over");
}

// Everything that decides a run's numbers, stored in its checkpoint: --resume refuses a checkpoint of other settings.
inline nlohmann::json run_settings(const Settings& opt, const bd::Recipe& recipe) {
  nlohmann::json s = spec_json(opt.spec);
  s.update({{"dataset", opt.dataset},
            {"recipe", recipe.name},
            {"epochs", recipe.epochs},
            {"batch", recipe.batch},
            {"lr", recipe.lr_weights},
            {"lr_noise", recipe.lr_noise},
            {"weight_decay", recipe.weight_decay},
            {"lr_schedule", opt.lr_schedule},
            {"seed", opt.seed},
            {"pretrain_epochs", opt.pretrain},
            {"adam_beta1", recipe.adam_beta1},
            {"train_clip", recipe.train_clip},
            {"kl_scales", recipe.kl_scales},
            {"threads", fixed_threads(opt) > 0 ? nlohmann::json(fixed_threads(opt)) : nlohmann::json("auto")},
            {"train_data_crc32", opt.train_crc32},
            {"test_data_crc32", opt.test_crc32}});
  if (recipe.adam_eps != bd::Recipe{}.adam_eps) s["adam_eps"] = recipe.adam_eps;  // absent at the default, as above
  if (opt.authors.center_inputs) s["center_inputs"] = true;
  if (opt.authors.dense_init_std > 0)
    s["dense_init"] = dense_init(opt.authors, opt.spec.dropout).describe();  // absent at the default
  if (!recipe.shuffle) s["shuffle"] = false;                                 // likewise
  if (opt.authors.pretrain_sbp_adam)
    s["pretrain_recipe"] = kSbpPretrainRecipe;   // absent otherwise: older checkpoints still compare equal
  if (!opt.init_from.empty()) {                  // absent otherwise
    s["init_from_crc32"] = opt.init_from_crc32;  // compared: the file's content
    s["init_from"] = opt.init_from;              // not compared (a copy elsewhere is the same start): for messages
  }
  return s;
}

// What a differing digest field means, after its values in a settings mismatch.
inline std::string digest_note(const std::string& key, const nlohmann::json& theirs, const nlohmann::json& mine,
                               const std::string& data_dir) {
  if (key == "train_data_crc32" || key == "test_data_crc32") {
    return std::string(" (the ") + (key[1] == 'r' ? "training" : "test") + " images and labels of --data " + data_dir +
           " are not the data the run was trained on)";
  }
  if (key == "init_from_crc32") {
    return " (--init-from " + mine.value("init_from", std::string()) + " holds another model than the run started " +
           "from, " + theirs.value("init_from", std::string("?")) + " as it was then)";
  }
  return "";
}

// --resume of a checkpoint written with other settings: refused naming each field that differs and its two values,
// rather than printing both settings whole. `text`: the checkpoint's settings (bd::checkpoint_phase), `mine`: the
// settings this run writes. "init_from" (a path, for messages) is not compared: "init_from_crc32" is; "phase" (how the
// trainer marked a pretraining checkpoint before the library did) is not either.
inline void check_resume_settings(const std::string& path, const std::string& text, const nlohmann::json& mine,
                                  const std::string& data_dir) {
  auto theirs = nlohmann::json::parse(text, nullptr, false);
  auto compared = mine;
  compared.erase("init_from");
  if (!theirs.is_object()) {
    throw bd::InvalidArgument("--resume " + path +
                              ": the checkpoint was not written by bayesdrop-mnist (its settings "
                              "are not the trainer's JSON); resume it with the program that wrote it");
  }
  theirs.erase("init_from");
  theirs.erase("phase");
  if (theirs == compared) return;
  const auto their_paths = nlohmann::json::parse(text);
  bool older = false;  // a digest field absent: a checkpoint written before the trainer recorded it
  std::string diff;
  auto add = [&diff](const std::string& item) { diff += (diff.empty() ? "" : "; ") + item; };
  for (const auto& [key, value] : compared.items()) {
    const auto it = theirs.find(key);
    const bool digest = key.size() > 6 && key.compare(key.size() - 6, 6, "_crc32") == 0;
    if (it == theirs.end()) {
      add("\"" + key + "\" is absent in the checkpoint but " + value.dump() + " here");
      older = older || digest;
    } else if (*it != value) {
      add("\"" + key + "\" is " + it->dump() + " in the checkpoint but " + value.dump() + " here" +
          digest_note(key, their_paths, mine, data_dir));
    }
  }
  for (const auto& [key, value] : theirs.items()) {
    if (!compared.contains(key)) add("\"" + key + "\" is " + value.dump() + " in the checkpoint but absent here");
  }
  if (older) {
    diff +=
        " (the checkpoint was written before the trainer recorded the digests of the data and the --init-from "
        "file, which it checks now)";
  }
  throw bd::InvalidArgument("--resume " + path + ": written by a run with other settings: " + diff +
                            "; resume with the flags of the run that wrote it, or start afresh without --resume");
}

/// --resume's checks before the library restores anything: a pretraining checkpoint needs --pretrain, and the
/// settings must be this run's (check_resume_settings).
inline void check_resume(const Settings& opt, bool pretraining, const std::string& stored, const nlohmann::json& mine,
                         const std::string& data_dir) {
  if (pretraining && opt.pretrain == 0) {
    throw bd::InvalidArgument("--resume " + opt.resume +
                              ": the checkpoint holds a run's pretraining; resume with that run's flags, --pretrain "
                              "included");
  }
  check_resume_settings(opt.resume, stored, mine, data_dir);
}

}  // namespace trainer
