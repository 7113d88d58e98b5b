#!/usr/bin/env bash
# Repeatable check of the README's first command on a fresh system: builds a minimal Debian 12 (bookworm) chroot
# with debootstrap, clones this repository's HEAD into it, supplies MNIST through BAYESDROP_MNIST_DIR (a copy of
# --mnist DIR), runs scripts/setup.sh there, and reports its duration and the packages it installed. Then it checks
# that without data and without network (unshare -n) setup.sh stops, says where to put the four files, and exits
# non-zero.
#
#   sudo scripts/check-fresh-debian.sh [--mnist DIR] [--work DIR] [--base DIR] [--mirror URL] [--keep] [-- ARGS...]
#
#   --mnist DIR   the four MNIST files (default $BAYESDROP_MNIST_DIR)
#   --work DIR    where the chroot goes (default: a new folder under /tmp); deleted at the end unless --keep
#   --base DIR    copy this untouched debootstrap tree instead of running debootstrap (saves its minutes)
#   --mirror URL  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   ARGS          the trainer's arguments for the check (default: --epochs 1; setup.sh's own default is 60 epochs)
#
# Needs root, debootstrap (apt-get install debootstrap), git and unshare (util-linux). The last lines are a summary;
# the exit status is 0 only when both checks passed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mnist="${BAYESDROP_MNIST_DIR:-}"
work=""
base=""
mirror="http://deb.debian.org/debian"
keep=0
train_args=(--epochs 1)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mnist) mnist="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; train_args=("$@"); break ;;
    *) echo "check-fresh-debian: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done

fail() { echo "check-fresh-debian: $*" >&2; exit 2; }
[[ "$(id -u)" -eq 0 ]] || fail "needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null || fail "needs debootstrap: apt-get install debootstrap"
command -v unshare >/dev/null || fail "needs unshare (util-linux)"
[[ -n "$mnist" && -d "$mnist" ]] || fail "needs the MNIST files: --mnist DIR or BAYESDROP_MNIST_DIR"
[[ -z "$base" || -x "$base/bin/bash" ]] || fail "--base '$base' is not a debootstrap tree (no bin/bash)"

if [[ -z "$work" ]]; then work="$(mktemp -d /tmp/bayesdrop-fresh.XXXXXX)"; fi
mkdir -p "$work"
chroot_dir="$work/root"
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if [[ "$keep" -eq 0 ]]; then rm -rf --one-file-system "$work"; else echo "check-fresh-debian: kept $work"; fi
}
trap cleanup EXIT

start=$(date +%s)
if [[ -n "$base" ]]; then
  echo "check-fresh-debian: copying the debootstrap tree $base"
  cp -a "$base" "$chroot_dir"
else
  echo "check-fresh-debian: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$chroot_dir" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
fi
echo "check-fresh-debian: base system ready after $(($(date +%s) - start)) s"

cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
for m in proc sys dev; do
  mount --bind "/$m" "$chroot_dir/$m"
  mounted+=("$chroot_dir/$m")
done

# A clean clone of the commit checked out here (uncommitted changes are not part of the check).
commit="$(git -C "$root" rev-parse HEAD)"
git clone --quiet --no-hardlinks "$root" "$chroot_dir/root/bayesdrop"
git -C "$chroot_dir/root/bayesdrop" checkout --quiet --detach "$commit"
mkdir -p "$chroot_dir/mnist"
cp "$mnist"/*-ubyte* "$chroot_dir/mnist/"

in_chroot() {  # a login-like clean environment: no variables of the host leak in
  chroot "$chroot_dir" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 "$@"
}
packages() { in_chroot dpkg-query -W -f '${Package}\n' | sort; }

packages >"$work/before.txt"
echo "check-fresh-debian: $(wc -l <"$work/before.txt") packages in the base system; running scripts/setup.sh" \
  "${train_args[*]} at $commit"
t0=$(date +%s)
setup_ok=1
in_chroot BAYESDROP_MNIST_DIR=/mnist bash -c 'cd /root/bayesdrop && scripts/setup.sh "$@"' setup "${train_args[@]}" \
  2>&1 | tee "$work/setup.log" || setup_ok=0
setup_seconds=$(($(date +%s) - t0))
packages >"$work/after.txt"
installed="$(comm -13 "$work/before.txt" "$work/after.txt")"

# Built only the trainer: no test or benchmark binaries, no other example.
built_ok=1
tree="$chroot_dir/root/bayesdrop/build/trainer"
[[ -x "$tree/examples/bayesdrop-mnist" ]] || built_ok=0
for other in examples/bayesdrop-uncertainty examples/bayesdrop-quickstart tests bench; do
  if [[ -e "$tree/$other" ]]; then
    echo "check-fresh-debian: build/trainer/$other exists: more than the trainer was configured or built" >&2
    built_ok=0
  fi
done
grep -q '^test accuracy ' "$work/setup.log" || setup_ok=0

# No data, no network: setup.sh must stop with the message and a non-zero status.
echo "check-fresh-debian: scripts/setup.sh without data and without network"
rm -rf "$chroot_dir/root/bayesdrop/data"
offline_ok=1
set +e
chroot "$chroot_dir" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  unshare -n bash -c 'cd /root/bayesdrop && scripts/setup.sh' >"$work/offline.log" 2>&1
offline_status=$?
set -e
tail -9 "$work/offline.log"
[[ "$offline_status" -ne 0 ]] || offline_ok=0
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  grep -q "$f" "$work/offline.log" || offline_ok=0
done
grep -q 'data/mnist' "$work/offline.log" || offline_ok=0

echo
echo "=== check-fresh-debian summary (commit $commit) ==="
echo "setup.sh ${train_args[*]}: $([[ $setup_ok -eq 1 ]] && echo trained || echo FAILED) in ${setup_seconds} s" \
  "(wall clock; base system not counted)"
echo "built only the trainer: $([[ $built_ok -eq 1 ]] && echo yes || echo NO)"
echo "packages installed by setup.sh: $(echo "$installed" | grep -c .)"
echo "$installed" | tr '\n' ' ' | fold -s -w 110
echo
echo "without data and network: exit status $offline_status, message $([[ $offline_ok -eq 1 ]] && echo ok || echo MISSING)"
[[ $setup_ok -eq 1 && $built_ok -eq 1 && $offline_ok -eq 1 ]]
