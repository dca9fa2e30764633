# Sourced: points podman at a containers.conf of ours (CONTAINERS_CONF): runc,
# since crun refuses this kernel's hybrid cgroups, and explicit ulimits, since
# the defaults podman derives fail here.
conf_dir="${EG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/entitlegate}/podman"
mkdir -p "$conf_dir"
cat >"$conf_dir/containers.conf.tmp" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
mv "$conf_dir/containers.conf.tmp" "$conf_dir/containers.conf"
export CONTAINERS_CONF="$conf_dir/containers.conf"
