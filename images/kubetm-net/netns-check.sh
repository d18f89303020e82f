#!/usr/bin/env bash
# Data-plane check of kubetm-net without a cluster, inside throwaway network namespaces only:
# a "docker host" bridge 172.18.0.1/24, two "nodes" (a: 172.18.0.2, pod CIDR 10.244.1.0/24;
# b: 172.18.0.3, 10.244.2.0/24), each with one "pod" wired the way the ptp plugin does it.
# Each node runs one kubetm-net sync (routes, masquerade, containment), then TCP connections from
# pod a report the source address the far end sees, and connections to unassigned pod and
# Service addresses must fail in node a (without containment they would leave by its default route).
# Usage (root): go test -c -tags netns -o /tmp/kubetm-net.test . && ./netns-check.sh /tmp/kubetm-net.test
set -euo pipefail
T=$(realpath "${1:?usage: netns-check.sh KUBETM_NET_TEST_BINARY}")
exec unshare --net --mount --propagation private bash -s "$T" <<'EOS'
set -euo pipefail
T=$1
mount -t tmpfs tmpfs /run && mkdir -p /run/netns
ip link set lo up
ip link add br0 type bridge && ip addr add 172.18.0.1/24 dev br0 && ip link set br0 up
# A router with no route to the cluster's addresses: what leaves a node for them comes back as
# "network unreachable", unlike the node's own rejections checked below.
sysctl -qw net.ipv4.ip_forward=1
i=0
for n in a b; do
  i=$((i + 1)); x=$((i + 1))
  ip netns add node-$n; ip netns add pod-$n
  ip link add v-$n type veth peer name eth0 netns node-$n
  ip link set v-$n master br0 up
  ip -n node-$n link set lo up
  ip -n node-$n addr add 172.18.0.$x/24 dev eth0 && ip -n node-$n link set eth0 up
  ip -n node-$n route add default via 172.18.0.1
  ip netns exec node-$n sysctl -qw net.ipv4.ip_forward=1
  ip -n node-$n link add h-$n type veth peer name eth0 netns pod-$n
  ip -n node-$n addr add 10.244.$i.1/32 dev h-$n && ip -n node-$n link set h-$n up
  ip -n node-$n route add 10.244.$i.2/32 dev h-$n
  ip -n pod-$n link set lo up
  ip -n pod-$n addr add 10.244.$i.2/32 dev eth0 && ip -n pod-$n link set eth0 up
  ip -n pod-$n route add 10.244.$i.1 dev eth0 && ip -n pod-$n route add default via 10.244.$i.1
  ip netns exec node-$n env KUBETM_NET_NETNS_TEST=1 KUBETM_NET_NODE=$n "$T" -test.run NetnsNodeSync >/dev/null
  echo "node $n routes: $(ip -n node-$n route show proto 77 | tr '\n' ';')"
done
serve() { python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
c, a = s.accept(); c.sendall(a[0].encode()); c.close()' "$1"; }
ask() { ip netns exec pod-a python3 -c 'import socket,sys
c=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5); print(c.recv(100).decode())' "$1" "$2"; }
fail=0
check() { # check WHERE-NETNS(or -) DST PORT WANT-SOURCE LABEL
  if [ "$1" = - ]; then serve "$3" & else ip netns exec "$1" bash -c "$(declare -f serve); serve $3" & fi
  sleep 0.5
  got=$(ask "$2" "$3" 2>&1 || true); wait || true
  if [ "$got" = "$4" ]; then echo "ok   $5: source seen $got"; else echo "FAIL $5: source seen '$got', want $4"; fail=1; fi
}
check pod-b 10.244.2.2 8080 10.244.1.2 "pod a -> pod b (other node)"
check node-b 172.18.0.3 8081 10.244.1.2 "pod a -> node b"
check - 172.18.0.1 8082 172.18.0.2 "pod a -> non-node address (masqueraded)"
fails() { # fails NETNS DST PORT WANT-ERRNO LABEL
  got=$(ip netns exec "$1" python3 -c 'import errno,socket,sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close(); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$2" "$3" 2>&1 || true)
  if [ "$got" = "$4" ]; then echo "ok   $5: $got"; else echo "FAIL $5: '$got', want $4"; fail=1; fi
}
fails pod-a 10.96.0.10 443 ECONNREFUSED "pod a -> unprogrammed Service address (REJECT in FORWARD)"
fails node-a 10.96.0.10 443 ECONNREFUSED "node a -> unprogrammed Service address (REJECT in OUTPUT)"
fails pod-a 10.244.7.7 80 EHOSTUNREACH "pod a -> unassigned pod address (unreachable route)"
fails node-a 10.244.7.7 80 EHOSTUNREACH "node a -> unassigned pod address (unreachable route)"
ip netns exec node-a iptables-legacy -t nat -L KUBETM-NET-MASQ -nv
ip netns exec node-a iptables-legacy -L KUBETM-NET-CONTAIN -nv
exit $fail
EOS
