#!/usr/bin/env bash
# bayesdrop-mnist --checkpoint/--resume at the program level: a run stopped after epoch 1 and resumed ends with the
# same model file and report (timings and provenance aside; epoch_threads covers every epoch) as the run done in one
# go; a checkpoint of other settings, of other data (same size, other pixels) or of another --init-from file, or a
# corrupt one, is refused with exit status 2 and a message naming the file; --init-from is compared by content (a
# copy at another path resumes); the same for a run with --pretrain stopped inside its pretraining. Writes its own
# tiny IDX data sets (random pixels).
#   test_resume_cli.sh <path to bayesdrop-mnist>
set -euo pipefail
trainer="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import os, random, struct, sys
random.seed(1)
for folder in (sys.argv[1], sys.argv[1] + "/other"):  # other: the same sizes, other pixels
    os.makedirs(folder, exist_ok=True)
    for stem, n in (("train", 80), ("t10k", 30)):
        with open(f"{folder}/{stem}-images-idx3-ubyte", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + bytes(random.randrange(256) for _ in range(n * 784)))
        with open(f"{folder}/{stem}-labels-idx1-ubyte", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + bytes(i % 10 for i in range(n)))
PY
base=(--data "$dir" --model lenet300 --dropout sparsevd --train-clip --epochs 3 --batch 20 --threads 1)
run=("${base[@]}" --quiet)
"$trainer" "${run[@]}" --save "$dir/straight.model" --report "$dir/straight.json"
out="$("$trainer" "${run[@]}" --checkpoint "$dir/ck" --stop-after 1 --save "$dir/resumed.model")"
[[ "$out" == *"stopped after epoch 1 of 3"* ]] || { echo "FAIL: no stop message: $out"; exit 1; }
[[ ! -e "$dir/resumed.model" ]] || { echo "FAIL: a stopped session saved a model"; exit 1; }
# Without --quiet: the session must say it resumed and train epochs 2 and 3 only (a fresh run from the same seed
# would also end with the same model, so the bytes alone do not show that the checkpoint was used).
out="$("$trainer" "${base[@]}" --checkpoint "$dir/ck" --resume "$dir/ck" --save "$dir/resumed.model" \
  --report "$dir/resumed.json")"
[[ "$out" == *"resuming from $dir/ck"* && "$out" != *"train: epoch 1,"* && "$out" == *"train: epoch 2,"* ]] ||
  { echo "FAIL: the resumed session did not continue from epoch 2: $out"; exit 1; }
cmp "$dir/straight.model" "$dir/resumed.model" || { echo "FAIL: the resumed model differs"; exit 1; }
# same_reports A B: the two reports are equal but for timings and provenance (which names the session that wrote the
# report: its command line, --resume included, and its date)
same_reports() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if "seconds" not in k and k != "provenance"}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d
a, b = (strip(json.load(open(p))) for p in sys.argv[1:])
if a != b:
    sys.exit("FAIL: the reports differ in " + ", ".join(k for k in a if a[k] != b.get(k)))
PY
}
same_reports "$dir/straight.json" "$dir/resumed.json"
# --pretrain: the pretraining is checkpointed too. A run of 2 pretraining + 2 epochs stopped inside its pretraining
# (epoch 1) and again after its first gated epoch (epoch 3), resumed each time, equals the run done in one go.
nl=$'\n'  # "train: epoch" lines start a line; "pretrain: epoch" lines end with the same words
pre=(--data "$dir" --model lenet300 --dropout sbp --pretrain 2 --epochs 2 --batch 20 --threads 1)
"$trainer" "${pre[@]}" --quiet --save "$dir/pre-straight.model" --report "$dir/pre-straight.json"
out="$("$trainer" "${pre[@]}" --checkpoint "$dir/pk" --stop-after 1)"
[[ "$out" == *"stopped after epoch 1 of 4 (pretraining)"* && "$out" != *"pretrain: epoch 2,"* ]] ||
  { echo "FAIL: no stop inside the pretraining: $out"; exit 1; }
# resuming a pretraining checkpoint without --pretrain is refused (a run from scratch would ignore it)
set +e
msg="$("$trainer" "${pre[@]/--pretrain/--seed}" --resume "$dir/pk" 2>&1)"; status=$?  # --seed 2 for --pretrain 2
set -e
[[ $status == 2 && "$msg" == *"--pretrain included"* ]] || { echo "FAIL: --pretrain dropped: $status $msg"; exit 1; }
out="$("$trainer" "${pre[@]}" --checkpoint "$dir/pk" --resume "$dir/pk" --stop-after 3)"
[[ "$out" == *"resuming the pretraining from $dir/pk"* && "$out" != *"pretrain: epoch 1,"* &&
   "$out" == *"pretrain: epoch 2,"* && "$out" == *"${nl}train: epoch 1,"* && "$out" != *"${nl}train: epoch 2,"* &&
   "$out" == *"stopped after epoch 3 of 4"* ]] ||
  { echo "FAIL: the pretraining did not continue from its epoch 2: $out"; exit 1; }
out="$("$trainer" "${pre[@]}" --checkpoint "$dir/pk" --resume "$dir/pk" --save "$dir/pre-resumed.model" \
  --report "$dir/pre-resumed.json")"
[[ "$out" != *"pretrain: epoch"* && "$out" != *"train: epoch 1,"* && "$out" == *"train: epoch 2,"* ]] ||
  { echo "FAIL: the gated run did not continue from its epoch 2: $out"; exit 1; }
cmp "$dir/pre-straight.model" "$dir/pre-resumed.model" || { echo "FAIL: the model resumed twice differs"; exit 1; }
same_reports "$dir/pre-straight.json" "$dir/pre-resumed.json"
set +e
msg="$("$trainer" "${run[@]}" --p 0.3 --resume "$dir/ck" 2>&1)"; status=$?
[[ $status == 2 && "$msg" == *"other settings"* && "$msg" == *"$dir/ck"* ]] || { echo "FAIL: other settings: $status $msg"; exit 1; }
head -c 500 "$dir/ck" >"$dir/bad"
msg="$("$trainer" "${run[@]}" --resume "$dir/bad" 2>&1)"; status=$?
[[ $status == 2 && "$msg" == *"checksum mismatch"* ]] || { echo "FAIL: corrupt: $status $msg"; exit 1; }
# The data by content: a folder of the same sizes but other pixels is refused, naming the data's field and folder.
msg="$("$trainer" "${run[@]/$dir/$dir/other}" --resume "$dir/ck" 2>&1)"; status=$?
[[ $status == 2 && "$msg" == *'"train_data_crc32"'* && "$msg" == *"$dir/other"* ]] ||
  { echo "FAIL: other data of the same size: $status $msg"; exit 1; }
# --init-from by content: a copy at another path resumes; another file at the same path is refused.
set -e
cp "$dir/straight.model" "$dir/init.model"
"$trainer" "${run[@]}" --init-from "$dir/init.model" --checkpoint "$dir/ik" --stop-after 1 >/dev/null
cp "$dir/init.model" "$dir/moved.model"
"$trainer" "${run[@]}" --init-from "$dir/moved.model" --resume "$dir/ik" ||
  { echo "FAIL: a copy of the --init-from file at another path was refused"; exit 1; }
cp "$dir/pre-straight.model" "$dir/init.model"
set +e
msg="$("$trainer" "${run[@]}" --init-from "$dir/init.model" --resume "$dir/ik" 2>&1)"; status=$?
[[ $status == 2 && "$msg" == *'"init_from_crc32"'* && "$msg" == *"$dir/init.model"* ]] ||
  { echo "FAIL: another --init-from file at the same path: $status $msg"; exit 1; }
echo "resume CLI: all checks passed"
