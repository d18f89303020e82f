#!/bin/sh
# iptables-wrapper for images that run in a node's network namespace (kube-proxy, kubetm-net):
# use the same iptables backend (legacy or nft) as the node's kubelet, as the upstream
# kubernetes-sigs iptables wrappers do. kubelet leaves KUBE-IPTABLES-HINT / KUBE-KUBELET-CANARY
# chains in the backend it uses; without them, the backend holding more rules wins.
# Installed as /usr/sbin/iptables{,-save,-restore} and ip6tables{,-save,-restore}.
cache=/tmp/.kubetm-iptables-mode
mode=$(cat "$cache" 2>/dev/null)
if [ "$mode" != legacy ] && [ "$mode" != nft ]; then
  legacy=$( (xtables-legacy-multi iptables-save -t mangle; xtables-legacy-multi ip6tables-save -t mangle) 2>/dev/null)
  nft=$( (xtables-nft-multi iptables-save -t mangle; xtables-nft-multi ip6tables-save -t mangle) 2>/dev/null)
  if printf '%s' "$legacy" | grep -qE 'KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY'; then mode=legacy
  elif printf '%s' "$nft" | grep -qE 'KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY'; then mode=nft
  else
    nl=$( (xtables-legacy-multi iptables-save; xtables-legacy-multi ip6tables-save) 2>/dev/null | grep -c '^-')
    nn=$( (xtables-nft-multi iptables-save; xtables-nft-multi ip6tables-save) 2>/dev/null | grep -c '^-')
    if [ "$nl" -gt "$nn" ]; then mode=legacy; else mode=nft; fi
  fi
  printf '%s' "$mode" >"$cache" 2>/dev/null || true
fi
exec "xtables-$mode-multi" "$(basename "$0")" "$@"
