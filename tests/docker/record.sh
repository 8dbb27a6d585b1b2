#!/usr/bin/env bash
# Records what real Docker (docker 28 CLI at /usr/local/bin/docker against a Docker 20.10 daemon)
# prints for the image commands strata mirrors, so the team can match it byte for byte and a
# differential test can compare later.
#
# Usage: tests/docker/record.sh OUTDIR
#
# Every scenario NAME is saved as OUTDIR/NAME.cmd (the exact shell command, run with bash -c in
# the scratch dir), NAME.out (stdout), NAME.err (stderr) and NAME.rc (exit code). Extra byte-exact
# files (save archive members, computed sizes) are saved under OUTDIR/files/.
#
# If DOCKER_HOST is unset, a private daemon is started in a temp dir with scripts/dockerd.sh and
# stopped at the end, so the image store starts empty and the run is repeatable. With DOCKER_HOST
# set, the given daemon is used as is (its other images will show up in the listings).
# IDs and "N seconds ago" texts change on every run, because `docker import` stamps the current
# time into the image config.
set -euo pipefail

[ $# -eq 1 ] || {
  echo "usage: $0 OUTDIR" >&2
  exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
conf=${CONFORMANCE_DIR:-/work/shared/conformance}
if [ ! -x "$conf/make-busybox-base.sh" ] && [ -x "$repo/../shared/conformance/make-busybox-base.sh" ]; then
  conf="$repo/../shared/conformance"
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
export PATH="/usr/local/bin:$PATH" # the docker 28 CLI
docker_cli=/usr/local/bin/docker
[ -x "$docker_cli" ] || docker_cli=$(command -v docker)
export DOCKER_CLI="$docker_cli"
# No user config (credential helpers, aliases, formats) may leak into the recording.
export DOCKER_CONFIG
DOCKER_CONFIG=$(mktemp -d)
export LC_ALL=C TZ=UTC

work=$(mktemp -d)
daemon_dir=""
cleanup() {
  if [ -n "$daemon_dir" ]; then
    "$repo/scripts/dockerd.sh" stop "$daemon_dir" || true
    rm -rf "$daemon_dir"
  fi
  rm -rf "$work" "$DOCKER_CONFIG"
}
trap cleanup EXIT
if [ -z "${DOCKER_HOST:-}" ]; then
  daemon_dir=$(mktemp -d /tmp/strata-dockerrec.XXXXXX)
  "$repo/scripts/dockerd.sh" start "$daemon_dir"
  eval "$("$repo/scripts/dockerd.sh" env "$daemon_dir")"
fi

command -v skopeo >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo >/dev/null
}

# Stale outputs from an earlier run must not survive.
find "$out" -maxdepth 1 -type f \( -name '*.cmd' -o -name '*.out' -o -name '*.err' -o -name '*.rc' \) -delete
rm -rf "$out/files"
mkdir -p "$out/files"
cd "$work"

# rec NAME 'COMMAND': run COMMAND with bash -c in the scratch dir and record it.
rec() {
  local name=$1 cmd=$2 rc=0
  printf '%s\n' "$cmd" >"$out/$name.cmd"
  bash -c "$cmd" >"$out/$name.out" 2>"$out/$name.err" </dev/null || rc=$?
  echo "$rc" >"$out/$name.rc"
}
keep() { # keep SRC DESTNAME: byte-exact copy into files/
  cp "$1" "$out/files/$2"
}
id_of() { docker image inspect --format '{{.Id}}' "$1"; }

# ---------------------------------------------------------------------------------------------
# Base tar and daemon facts.
cp "$here/tarheaders.py" "$here/v1id.py" .
"$conf/make-busybox-base.sh" busybox.tar
gzip -9 -n -c busybox.tar >busybox.tar.gz
if [ -n "$daemon_dir" ]; then
  : # fresh store
else
  for r in busybox busybox:alias mirror/busybox example/app:v1 example/other:latest \
    localhost:5000/x/y:1.0 child:latest; do
    docker rmi -f "$r" >/dev/null 2>&1 || true
  done
fi

rec version_json "docker version --format '{{json .}}'"
rec info_json "docker info --format '{{json .}}'"
for c in images rmi tag save load import history "image inspect" "image prune" "system df" \
  "image ls" inspect; do
  rec "help_${c// /_}" "docker $c --help"
done

rec images_empty "docker images"

# ---------------------------------------------------------------------------------------------
# import
rec import_tar "docker import -c 'CMD [\"/bin/sh\"]' busybox.tar busybox:latest"
sleep 1.1
rec import_gzip_all_changes "docker import -c 'ENV A=b' -c 'LABEL x=y' -c 'EXPOSE 80/tcp' -c 'WORKDIR /w' -c 'USER 1000' -c 'VOLUME /data' -c 'ENTRYPOINT [\"/bin/sh\",\"-c\"]' -m \"a message\" busybox.tar.gz example/app:v1"
sleep 1.1
rec import_stdin "docker import -c 'CMD [\"/bin/sh\"]' - localhost:5000/x/y:1.0 < busybox.tar"
sleep 1.1
rec import_untagged "docker import busybox.tar"
sleep 1.1
sleep 1.1
rec import_label_z "docker import -c 'LABEL x=z' -c 'ENV A=b B=\"c d\"' -c 'ONBUILD RUN echo hi' busybox.tar example/other:latest"
rec import_change_stopsignal "docker import -c 'STOPSIGNAL SIGKILL' busybox.tar bad:stopsignal"
rec import_change_run "docker import -c 'RUN x' busybox.tar bad:run"
rec import_change_from "docker import -c 'FROM busybox' busybox.tar bad:from"
rec import_change_bogus "docker import -c 'BOGUS x' busybox.tar bad:bogus"
sleep 1.1
rec import_change_cmd_shell "docker import -c 'CMD echo hi' -c 'HEALTHCHECK CMD true' busybox.tar bad:shellcmd"
rec import_missing_file "docker import nosuchfile.tar x:y"
rec import_bad_ref "docker import busybox.tar 'Bad:Ref'"
printf 'this is not a tar\n' >garbage.bin
rec import_not_a_tar "docker import garbage.bin garbage:latest"

bb_id=$(id_of busybox:latest)
dangling_id=$(docker images -q --filter dangling=true --no-trunc | head -n 1)
printf '%s\n' "$bb_id" >"$out/files/busybox-id.txt"

for img in busybox:latest example/app:v1 localhost:5000/x/y:1.0 example/other:latest; do
  n=${img//[\/:]/_}
  rec "inspect_full_$n" "docker image inspect $img"
done
rec inspect_full_dangling "docker image inspect $dangling_id"
rec inspect_full_bad_shellcmd "docker image inspect bad:shellcmd"

# ---------------------------------------------------------------------------------------------
# tag
rec tag_valid "docker tag busybox:latest mirror/busybox:latest"
rec tag_valid_alias "docker tag busybox busybox:alias"
rec tag_by_short_id "docker tag ${bb_id:7:12} busybox:byid"
rec tag_uppercase "docker tag busybox:latest Busybox:latest"
rec tag_bad_chars "docker tag busybox:latest 'bad\$name:x'"
rec tag_bad_tag_chars "docker tag busybox:latest 'busybox:t@g'"
long_tag=$(printf 'a%.0s' $(seq 1 129))
rec tag_129_char_tag "docker tag busybox:latest busybox:$long_tag"
rec tag_128_char_tag "docker tag busybox:latest busybox:${long_tag:1}"
hex64=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
rec tag_64hex_repo "docker tag busybox:latest $hex64"
rec tag_64hex_repo_with_tag "docker tag busybox:latest $hex64:v1"
rec tag_unknown_source "docker tag nosuch:latest foo:bar"
rec tag_unknown_source_id "docker tag 0123456789ab foo:bar"
rec tag_no_args "docker tag busybox:latest"
rec tag_digest_target "docker tag busybox:latest busybox@sha256:$hex64"
rec tag_retag_existing "docker tag example/app:v1 busybox:byid"
rec rmi_byid_tag "docker rmi busybox:byid"
rec rmi_odd_tags "docker rmi busybox:${long_tag:1} $hex64:v1"

# ---------------------------------------------------------------------------------------------
# images
rec images_plain "docker images"
rec images_a "docker images -a"
rec images_q "docker images -q"
rec images_qa "docker images -q -a"
rec images_digests "docker images --digests"
rec images_no_trunc "docker images --no-trunc"
rec images_q_no_trunc "docker images -q --no-trunc"
rec images_f_dangling_true "docker images --filter dangling=true"
rec images_f_dangling_false "docker images --filter dangling=false"
rec images_f_dangling_bogus "docker images --filter dangling=maybe"
rec images_f_label_x "docker images --filter label=x"
rec images_f_label_xy "docker images --filter label=x=y"
rec images_f_label_nosuch "docker images --filter label=nosuch"
rec images_f_reference_busybox_glob "docker images --filter 'reference=busybox*'"
rec images_f_reference_example_glob "docker images --filter 'reference=example/*'"
rec images_f_reference_tag_glob "docker images --filter 'reference=*:v1'"
rec images_f_before "docker images --filter before=busybox"
rec images_f_since "docker images --filter since=busybox"
rec images_f_before_unknown "docker images --filter before=nosuch"
rec images_f_bogus_key "docker images --filter bogus=1"
rec images_f_no_equals "docker images --filter dangling"
rec images_format_repo_tag "docker images --format '{{.Repository}}:{{.Tag}}'"
rec images_format_json_tmpl "docker images --format '{{json .}}'"
rec images_format_json "docker images --format json"
rec images_format_table "docker images --format 'table {{.ID}}\t{{.Repository}}'"
rec images_format_all_fields "docker images --format '{{.ID}}|{{.Repository}}|{{.Tag}}|{{.Digest}}|{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}|{{.SharedSize}}|{{.UniqueSize}}|{{.VirtualSize}}|{{.Containers}}'"
rec images_format_bad_field "docker images --format '{{.Nope}}'"
rec images_repo_arg "docker images busybox"
rec images_repo_tag_arg "docker image ls example/app:v1"
rec images_repo_arg_nomatch "docker images nosuch"
rec images_repo_arg_registry "docker images localhost:5000/x/y"
rec images_two_args "docker images busybox example/app"

# ---------------------------------------------------------------------------------------------
# history
rec history_plain "docker history busybox:latest"
rec history_app "docker history example/app:v1"
rec history_H_false "docker history -H=false busybox:latest"
rec history_no_trunc "docker history --no-trunc busybox:latest"
rec history_no_trunc_app "docker history --no-trunc example/app:v1"
rec history_q "docker history -q busybox:latest"
rec history_format "docker history --format '{{.ID}} {{.CreatedBy}}' busybox:latest"
rec history_format_json "docker history --format json example/app:v1"
rec history_format_json_tmpl "docker history --format '{{json .}}' example/app:v1"
rec history_unknown "docker history nosuch:latest"

# ---------------------------------------------------------------------------------------------
# inspect
i=0
for f in '{{.Id}}' '{{json .Config}}' '{{.Config.Env}}' '{{.Config.Healthcheck}}' \
  '{{index .RepoTags 0}}' '{{.Foo}}' '{{.Config.Foo}}' '{{range .RepoTags}}{{.}} {{end}}' \
  '{{.Size}}' '{{.VirtualSize}}' '{{.RootFS.Layers}}' '{{json .Config.Labels}}' \
  '{{.Config.Labels.x}}' '{{.Created}}' '{{json .RepoDigests}}' '{{.Parent}}' \
  '{{.Config.Cmd}}' '{{.Comment}}' '{{json .}}' '{{.Config.ExposedPorts}}' '{{.Config.Volumes}}'; do
  i=$((i + 1))
  n=$(printf '%02d' "$i")
  rec "inspect_fmt${n}_busybox" "docker image inspect --format '$f' busybox:latest"
  rec "inspect_fmt${n}_app" "docker image inspect --format '$f' example/app:v1"
done
for img in example/other:latest bad:shellcmd; do
  n=${img//[\/:]/_}
  rec "inspect_config_json_$n" "docker image inspect --format '{{json .Config}}' $img"
  rec "inspect_healthcheck_$n" "docker image inspect --format '{{.Config.Healthcheck}} {{.Config.OnBuild}}' $img"
done
rec inspect_generic_busybox "docker inspect busybox:latest"
rec inspect_generic_fmt "docker inspect --format '{{.Id}}' busybox:latest"
rec inspect_generic_type_image "docker inspect --type image --format '{{.Config.Cmd}}' busybox:latest"
rec inspect_unknown "docker image inspect nosuch:latest"
rec inspect_generic_unknown "docker inspect nosuch:latest"
rec inspect_two_one_unknown "docker image inspect busybox:latest nosuch:latest"
rec inspect_two_one_unknown_fmt "docker image inspect --format '{{.Id}}' nosuch:latest busybox:latest"
rec inspect_two_known "docker image inspect --format '{{.Id}}' busybox:latest example/app:v1"
rec inspect_short_id "docker image inspect --format '{{.Id}}' ${bb_id:7:12}"
rec inspect_full_id "docker image inspect --format '{{.Id}}' $bb_id"
rec inspect_index_out_of_range "docker image inspect --format '{{index .RepoTags 5}}' busybox:latest"
rec inspect_bad_template "docker image inspect --format '{{.Id' busybox:latest"

# ---------------------------------------------------------------------------------------------
# Size facts: what Size/VirtualSize equal.
{
  echo "tar_bytes $(stat -c %s busybox.tar)"
  echo "tar_sha256 sha256:$(sha256sum busybox.tar | cut -d' ' -f1)"
  echo "gz_bytes $(stat -c %s busybox.tar.gz)"
  echo "regular_file_bytes $(tar -tvf busybox.tar | awk '$1 ~ /^-/ { s += $3 } END { print s }')"
  echo "all_entry_size_field_bytes $(tar -tvf busybox.tar | awk '{ s += $3 } END { print s }')"
  echo "du_apparent_bytes_unpacked $(mkdir -p unpacked && tar -xf busybox.tar -C unpacked &&
    du -sb --apparent-size unpacked | cut -f1)"
  echo "symlink_target_bytes $(tar -tvf busybox.tar | awk '$1 ~ /^l/ { s += length($NF) } END { print s }')"
  echo "regular_plus_symlink_target_bytes $(tar -tvf busybox.tar | awk '$1 ~ /^-/ { s += $3 } $1 ~ /^l/ { s += length($NF) } END { print s }')"
  echo "inspect_Size $(docker image inspect --format '{{.Size}}' busybox:latest)"
  echo "inspect_VirtualSize $(docker image inspect --format '{{.VirtualSize}}' busybox:latest)"
  echo "inspect_RootFS_Layers $(docker image inspect --format '{{.RootFS.Layers}}' busybox:latest)"
  echo "gzip_import_RootFS_Layers $(docker image inspect --format '{{.RootFS.Layers}}' example/app:v1)"
} >"$out/files/sizes.txt"

# ---------------------------------------------------------------------------------------------
# save
rec save_busybox "docker save busybox:latest -o busybox-save.tar"
rec save_busybox_listing "tar -tvf busybox-save.tar"
rec save_busybox_listing_full "tar --full-time -tvf busybox-save.tar"
rec save_busybox_stdout "docker save busybox:latest | sha256sum"
rec save_busybox_is_deterministic "docker save busybox:latest -o again.tar && cmp busybox-save.tar again.tar && echo identical"
mkdir -p x-busybox && tar -xf busybox-save.tar -C x-busybox
for f in manifest.json index.json oci-layout repositories; do
  [ -e "x-busybox/$f" ] && keep "x-busybox/$f" "save-busybox-$f"
done
rec save_busybox_members "cd x-busybox && find . -mindepth 1 | LC_ALL=C sort && (ls -la blobs/sha256 2>&1 || true)"
cfg=$(jq -r '.[0].Config' x-busybox/manifest.json)
keep "x-busybox/$cfg" save-busybox-config.json
for l in $(jq -r '.[0].Layers[]' x-busybox/manifest.json); do
  rec save_busybox_layer_vs_input "cd x-busybox && sha256sum '$l' ../busybox.tar && stat -c '%s %n' '$l' ../busybox.tar && (cmp '$l' ../busybox.tar && echo identical-to-input || true)"
  find "x-busybox/$(dirname "$l")" -maxdepth 1 -type f ! -name layer.tar | while read -r f; do
    keep "$f" "save-busybox-layerdir-$(basename "$f")"
  done
done
rec save_busybox_tar_headers "python3 tarheaders.py busybox-save.tar"
rec save_busybox_v1id_check "python3 v1id.py x-busybox"
rec save_two_images "docker save -o two.tar busybox:latest example/app:v1 && tar -tvf two.tar"
mkdir -p x-two && tar -xf two.tar -C x-two
for f in manifest.json repositories index.json; do
  [ -e "x-two/$f" ] && keep "x-two/$f" "save-two-$f"
done
rec save_by_id "docker save -o byid.tar ${bb_id:7:12} && tar -tvf byid.tar"
mkdir -p x-byid && tar -xf byid.tar -C x-byid
for f in manifest.json repositories index.json; do
  [ -e "x-byid/$f" ] && keep "x-byid/$f" "save-byid-$f"
done
rec save_app "docker save -o app.tar example/app:v1 && tar -tvf app.tar"
rec save_two_tar_headers "python3 tarheaders.py two.tar"
mkdir -p x-app && tar -xf app.tar -C x-app
for f in manifest.json repositories index.json; do
  [ -e "x-app/$f" ] && keep "x-app/$f" "save-app-$f"
done
keep "x-app/$(jq -r '.[0].Config' x-app/manifest.json)" save-app-config.json
rec save_registry_name "docker save -o reg.tar localhost:5000/x/y:1.0 && tar -xOf reg.tar manifest.json && echo && tar -xOf reg.tar repositories"
rec save_repo_all_tags "docker save -o repo.tar busybox && tar -xOf repo.tar manifest.json && echo && tar -xOf repo.tar repositories"
rec save_two_names_same_image "docker save -o same.tar busybox:latest mirror/busybox:latest && tar -tf same.tar && tar -xOf same.tar manifest.json && echo && tar -xOf same.tar repositories"
rec save_unknown "docker save -o unk.tar nosuch:latest"
rec save_one_unknown "docker save -o unk2.tar busybox:latest nosuch:latest"
rec save_no_args "docker save"
rec save_dangling "docker save -o dangling.tar $dangling_id && tar -xOf dangling.tar manifest.json && echo && (tar -xOf dangling.tar repositories || echo no-repositories-file)"
gzip -9 -n -c busybox-save.tar >"$out/busybox-save.tar.gz"

# ---------------------------------------------------------------------------------------------
# skopeo on docker's save output
rec skopeo_version "skopeo --version"
rec skopeo_inspect "skopeo inspect docker-archive:busybox-save.tar"
rec skopeo_inspect_config "skopeo inspect --config docker-archive:busybox-save.tar"
rec skopeo_inspect_raw "skopeo inspect --raw docker-archive:busybox-save.tar"
rec skopeo_copy_oci_archive "skopeo copy docker-archive:busybox-save.tar oci-archive:bb-oci.tar:busybox:latest && tar -tvf bb-oci.tar"
if [ -e bb-oci.tar ]; then
  mkdir -p x-oci && tar -xf bb-oci.tar -C x-oci
  for f in index.json oci-layout; do
    [ -e "x-oci/$f" ] && keep "x-oci/$f" "skopeo-oci-$f"
  done
  rec skopeo_oci_blobs "cd x-oci && for b in blobs/sha256/*; do printf '%s %s ' \"\$(stat -c %s \$b)\" \"\$b\"; file -b \$b 2>/dev/null || echo; done"
  rec skopeo_oci_manifest "cd x-oci && m=\$(jq -r '.manifests[0].digest' index.json | cut -d: -f2) && cat blobs/sha256/\$m"
fi
rec skopeo_copy_docker_archive_roundtrip "skopeo copy docker-archive:busybox-save.tar docker-archive:bb-skopeo.tar:busybox:latest && tar -tvf bb-skopeo.tar && tar -xOf bb-skopeo.tar manifest.json"
rec skopeo_inspect_two_images_archive "skopeo inspect docker-archive:two.tar"
rec skopeo_inspect_two_images_archive_idx "skopeo inspect docker-archive:two.tar:@1"

# ---------------------------------------------------------------------------------------------
# load
rec load_existing "docker load -i busybox-save.tar"
rec load_existing_q "docker load -q -i busybox-save.tar"
docker rmi busybox:latest mirror/busybox:latest busybox:alias >/dev/null
rec load_fresh "docker load -i busybox-save.tar"
docker rmi busybox:latest >/dev/null
rec load_fresh_q "docker load -q -i busybox-save.tar"
docker rmi busybox:latest >/dev/null
rec load_stdin "docker load < busybox-save.tar"
rec load_empty_stdin "docker load"
rec load_two "docker load -i two.tar"
rec load_by_id "docker load -i byid.tar"
# Re-point busybox:latest at another image, then load: docker says it renames the old one.
docker tag example/app:v1 busybox:latest
rec load_retag "docker load -i busybox-save.tar"
rec load_skopeo_oci_archive "docker load -i bb-oci.tar"
rec load_skopeo_docker_archive "docker load -i bb-skopeo.tar"
docker tag busybox:latest mirror/busybox:latest
docker tag busybox:latest busybox:alias
# Corruptions. docker load skips reading a layer tar whose chain ID is already in the layer store,
# so the busybox archive is first loaded corrupted while busybox's layer exists (no error), and
# then a tiny image whose layer is absent is used to get the real error texts.
corrupt_archive() { # corrupt_archive SRC_DIR DEST_DIR KIND -> DEST_DIR.tar
  local src=$1 dst=$2 kind=$3 lay cfgf
  rm -rf "$dst" && cp -a "$src" "$dst"
  lay=$(jq -r '.[0].Layers[0]' "$dst/manifest.json")
  cfgf=$(jq -r '.[0].Config' "$dst/manifest.json")
  case $kind in
    layer) # same length, different content: sizes stay valid, the digest does not
      python3 -c 'import sys
p=sys.argv[1]; b=bytearray(open(p,"rb").read()); i=b.index(b"root:x:0:"); b[i:i+4]=b"ROOT"
open(p,"wb").write(b)' "$dst/$lay" ;;
    config)
      python3 -c 'import sys
p=sys.argv[1]; b=open(p,"rb").read().replace(b"/bin/sh", b"/bin/ash", 1); open(p,"wb").write(b)' \
        "$dst/$cfgf" ;;
    nolayer) rm -f "$dst/$lay" ;;
    nomanifest) rm -f "$dst/manifest.json" ;;
    noconfig) rm -f "$dst/$cfgf" ;;
  esac
  (cd "$dst" && tar --format=gnu --sort=name -cf "../$dst.tar" .)
}
corrupt_archive x-busybox x-badlayer layer
rec load_bad_layer_digest_layer_present "docker load -i x-badlayer.tar"
corrupt_archive x-busybox x-badcfg config
rec load_bad_config_digest "docker load -i x-badcfg.tar"
corrupt_archive x-busybox x-nolayer nolayer
rec load_missing_layer_layer_present "docker load -i x-nolayer.tar"
docker tag busybox:latest mirror/busybox:latest
docker tag busybox:latest busybox:alias
# The tiny image: one file, its own layer.
mkdir -p tinyroot/etc && printf 'root:x:0:0:root:/root:/bin/sh\n' >tinyroot/etc/passwd
tar --format=gnu --sort=name --mtime='2000-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
  -C tinyroot -cf tiny.tar .
docker import -c 'CMD ["/bin/sh"]' tiny.tar tiny:latest >/dev/null
docker save -o tiny-save.tar tiny:latest
mkdir -p x-tiny && tar -xf tiny-save.tar -C x-tiny
docker rmi tiny:latest >/dev/null
for kind in layer config nolayer nomanifest noconfig; do
  corrupt_archive x-tiny "x-tiny-$kind" "$kind"
done
rec load_tiny_ok "docker load -i tiny-save.tar"
rec inspect_tiny_size "docker image inspect --format '{{.Size}} {{.VirtualSize}}' tiny:latest && docker images tiny && docker history tiny"
# Size with a hardlink and a symlink: are hardlinks counted once, symlinks by target length?
mkdir -p linkroot && head -c 100 /dev/zero >linkroot/a && ln linkroot/a linkroot/b && ln -s a linkroot/c
tar --format=gnu --sort=name --mtime='2000-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
  -C linkroot -cf links.tar .
rec import_links "docker import links.tar links:latest && tar -tvf links.tar"
rec inspect_links_size "docker image inspect --format '{{.Size}} {{.VirtualSize}}' links:latest && docker images links"
docker rmi links:latest >/dev/null
docker rmi tiny:latest >/dev/null
rec load_tiny_bad_layer_digest "docker load -i x-tiny-layer.tar"
rec load_tiny_bad_config "docker load -i x-tiny-config.tar"
docker rmi tiny:latest >/dev/null 2>&1 || true
rec load_tiny_missing_layer "docker load -i x-tiny-nolayer.tar"
rec load_tiny_no_manifest "docker load -i x-tiny-nomanifest.tar"
rec images_after_tiny_no_manifest "docker images -a"
docker rmi tiny:latest >/dev/null 2>&1 || true
rec load_tiny_missing_config "docker load -i x-tiny-noconfig.tar"
sz=$(stat -c %s tiny-save.tar)
head -c $((sz / 2)) tiny-save.tar >tiny-truncated.tar
rec load_tiny_truncated "docker load -i tiny-truncated.tar"
sz=$(stat -c %s busybox-save.tar)
head -c $((sz / 2)) busybox-save.tar >truncated.tar
rec load_truncated "docker load -i truncated.tar"
head -c 700 busybox-save.tar >truncated-header.tar
rec load_truncated_header "docker load -i truncated-header.tar"
rec load_not_a_tar "docker load -i garbage.bin"
rec load_missing_file "docker load -i nosuchfile.tar"
cp "$out/busybox-save.tar.gz" .
rec load_gzip "docker load -i busybox-save.tar.gz"
rec images_after_load "docker images"

# ---------------------------------------------------------------------------------------------
# rmi
bb_id=$(id_of busybox:latest)
rec rmi_untag_one_of_several "docker rmi busybox:alias"
rec rmi_id_multiple_repos "docker rmi ${bb_id:7:12}"
rec rmi_full_id_multiple_repos "docker rmi $bb_id"
rec rmi_force_id_multiple_repos "docker rmi -f ${bb_id:7:12}"
rec rmi_unknown "docker rmi nosuch:latest"
rec rmi_unknown_id "docker rmi 0123456789ab"
rec rmi_several_one_unknown "docker rmi nosuch:latest example/other:latest alsonosuch"
docker import -c 'LABEL x=z' busybox.tar example/other:latest >/dev/null
rec rmi_no_prune "docker rmi --no-prune example/other:latest"
rec rmi_last_tag_deletes "docker rmi localhost:5000/x/y:1.0"
docker load -q -i busybox-save.tar >/dev/null
bb_id=$(id_of busybox:latest)

# A child image (the legacy builder records Parent), for rmi conflicts.
mkdir -p ctx && printf 'FROM busybox:latest\nLABEL child=1\n' >ctx/Dockerfile
rec build_child_legacy "DOCKER_BUILDKIT=0 docker build -q -t child:latest ctx"
rec inspect_child_parent "docker image inspect --format '{{.Parent}} {{json .Config.Labels}}' child:latest"
rec history_child "docker history child:latest"
rec images_a_with_child "docker images -a"
rec images_f_before_child "docker images --filter before=child:latest"
rec images_f_dangling_with_child "docker images --filter dangling=true"
rec rmi_parent_id_with_child "docker rmi ${bb_id:7:12}"
rec rmi_parent_id_with_child_f "docker rmi -f ${bb_id:7:12}"
rec rmi_parent_last_tag_with_child "docker rmi busybox:latest"
rec images_a_after_untag_parent "docker images -a"
rec images_after_untag_parent "docker images"
rec rmi_child "docker rmi child:latest"
docker load -q -i busybox-save.tar >/dev/null
sleep 1.1
rec build_child2_legacy "DOCKER_BUILDKIT=0 docker build -q -t child:latest ctx"
docker rmi busybox:latest >/dev/null
rec rmi_no_prune_child "docker rmi --no-prune child:latest"
rec images_a_after_no_prune "docker images -a"
rec images_dangling_after_no_prune "docker images --filter dangling=true"
docker rmi "$bb_id" >/dev/null
docker load -q -i busybox-save.tar >/dev/null
rec rmi_no_args "docker rmi"
rec rmi_bad_ref "docker rmi 'Bad:Ref'"
rec rmi_digest_ref "docker rmi busybox@sha256:$hex64"
rec images_after_rmi "docker images -a"

# ---------------------------------------------------------------------------------------------
# prune and df
docker import busybox.tar >/dev/null
docker import -c 'LABEL x=1' busybox.tar >/dev/null
rec system_df "docker system df"
rec system_df_v "docker system df -v"
rec system_df_format_json "docker system df --format json"
rec system_df_format_tmpl "docker system df --format '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}'"
rec image_prune_until "docker image prune -f --filter until=1h"
rec image_prune_label_nosuch "docker image prune -f --filter label=nosuch"
rec image_prune_label_x "docker image prune -f --filter label=x"
rec image_prune_dangling "docker image prune -f"
rec image_prune_dangling_again "docker image prune -f"
rec images_before_prune_all "docker images -a"
rec image_prune_all_until "docker image prune -a -f --filter until=1h"
rec image_prune_all "docker image prune -a -f"
rec image_prune_bad_filter "docker image prune -f --filter bogus=1"
rec images_after_prune_all "docker images -a"
rec system_df_empty "docker system df"
rec system_df_v_empty "docker system df -v"

echo "recorded $(find "$out" -maxdepth 1 -name '*.cmd' | wc -l) scenarios into $out" >&2
