#!/bin/sh
# Two "hosts" on one machine: two network namespaces (each with its own host name) joined by a
# veth pair, mpirun in the first, the second rank started in the second through Open MPI's rsh
# launcher (the agent below stands in for ssh), the ranks talking TCP over the veth link only.
# Touches nothing but the namespaces and link it creates, and removes them at exit.
#   two_hosts.sh MPIRUN PROGRAM [ARGS...]      exit 77 (skipped) when namespaces cannot be made
set -u
mpirun=$1
shift
id=$$
ns_a=silica-tp-a-$id ns_b=silica-tp-b-$id
dir=$(mktemp -d)
cleanup() {
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
if ! ip netns add "$ns_a" 2>/dev/null; then
  echo "cannot create a network namespace (needs root and iproute2): skipped"
  exit 77
fi
ip netns add "$ns_b" || exit 1
# Interface names are at most 15 characters.
ip link add "sta$id" netns "$ns_a" type veth peer name "stb$id" netns "$ns_b" || exit 1
ip -n "$ns_a" addr add 10.77.0.1/24 dev "sta$id"
ip -n "$ns_b" addr add 10.77.0.2/24 dev "stb$id"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "sta$id" up
ip -n "$ns_b" link set "stb$id" up

# Open MPI calls the agent as: agent [options] HOST COMMAND...; HOST is always host b here.
cat >"$dir/agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
shift
exec ip netns exec $ns_b unshare --uts sh -c "hostname silica-host-b; \$*"
AGENT
chmod +x "$dir/agent"

ip netns exec "$ns_a" unshare --uts sh -c 'hostname silica-host-a; exec "$@"' sh \
  "$mpirun" --allow-run-as-root --bind-to none -np 2 --host 10.77.0.1:1,10.77.0.2:1 \
  --mca plm_rsh_agent "$dir/agent" --mca plm_rsh_no_tree_spawn 1 \
  --mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  "$@"
# (not exec: the trap removes the namespaces when this returns)
