#!/usr/bin/env bash
# Network-namespace "hosts" for multi-host tests (root only). Host n is the namespace qc-h<n>, linked to the root
# namespace by a veth pair on 10.231.<n>.0/30: the root side qc-h<n>-r is 10.231.<n>.1, the host side qc-h<n>-h
# (inside the namespace) is 10.231.<n>.2. A host reaches the root side's address only (there is no forwarding), so a
# server for the hosts listens on the root-side addresses; `addresses` prints them in the form
# build/TestPostgres.ps1's -ExtraListenAddress (build.ps1's -PostgresListenAddress) takes. Create the hosts before
# starting such a server.
set -euo pipefail

readonly NAME=qc-h
readonly NET=10.231

usage() {
    cat >&2 <<EOF
usage: $0 up N                        create hosts 1..N (those already there are kept)
       $0 run n HOSTNAME -- CMD...    run CMD inside host n, with its own hostname
       $0 cut n                       take host n's link down on the root side
       $0 restore n                   bring host n's link back up
       $0 addresses                   root-side addresses of the hosts, one a line (e.g. 10.231.1.1/30)
       $0 status                      the hosts, their addresses and link states
       $0 down                        stop what runs inside the hosts and delete them all
EOF
    exit 2
}

die() { echo "TestHosts: $*" >&2; exit 1; }

hosts() { ip netns list | awk -v name="$NAME" '$1 ~ "^" name "[0-9]+$" { print substr($1, length(name) + 1) }' | sort -n; }

number() {
    [[ ${1:-} =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 250 )) || die "host number must be 1..250, not '${1:-}'"
}

exists() { ip netns list | awk '{ print $1 }' | grep -qx "$NAME$1"; }

up_one() {
    local n=$1 ns=$NAME$1 root=$NAME$1-r host=$NAME$1-h
    exists "$n" && return 0
    # Never take over addresses some other interface already uses.
    [[ -z $(ip -4 -o addr show to "$NET.$n.0/30") ]] || die "$NET.$n.0/30 is already in use: $(ip -4 -o addr show to "$NET.$n.0/30")"
    ip netns add "$ns"
    ip link add "$root" type veth peer name "$host"
    ip link set "$host" netns "$ns"
    ip addr add "$NET.$n.1/30" dev "$root"
    ip link set "$root" up
    ip -n "$ns" addr add "$NET.$n.2/30" dev "$host"
    ip -n "$ns" link set "$host" up
    ip -n "$ns" link set lo up
}

down_all() {
    local n pids
    for n in $(hosts); do
        pids=$(ip netns pids "$NAME$n" || true)
        # Only processes inside our own namespaces: what `run` started there.
        [[ -z $pids ]] || kill $pids 2>/dev/null || true
        ip netns del "$NAME$n"
        # Deleting the namespace deletes the host side, and with it the pair (asynchronously: the pair may vanish
        # between the look and the delete); this covers a half-made host.
        if ip link show "$NAME$n-r" >/dev/null 2>&1; then
            ip link del "$NAME$n-r" 2>/dev/null || ! ip link show "$NAME$n-r" >/dev/null 2>&1 || die "could not delete $NAME$n-r"
        fi
    done
}

[[ $(id -u) == 0 ]] || die 'network namespaces need root'
command=${1:-}
shift || true
case $command in
    up)
        number "${1:-}"
        for (( n = 1; n <= $1; n++ )); do up_one "$n"; done
        ;;
    run)
        number "${1:-}"
        exists "$1" || die "no host $1 (run: $0 up $1)"
        [[ $# -ge 4 && $3 == -- ]] || usage
        n=$1 hostname=$2
        shift 3
        exec ip netns exec "$NAME$n" unshare --uts sh -c 'hostname "$1" && shift && exec "$@"' sh "$hostname" "$@"
        ;;
    cut | restore)
        number "${1:-}"
        exists "$1" || die "no host $1"
        ip link set "$NAME$1-r" "$([[ $command == cut ]] && echo down || echo up)"
        ;;
    addresses)
        for n in $(hosts); do echo "$NET.$n.1/30"; done
        ;;
    status)
        for n in $(hosts); do
            echo "host $n: namespace $NAME$n, root side $NET.$n.1 ($(cat "/sys/class/net/$NAME$n-r/operstate")), host side $NET.$n.2"
        done
        ;;
    down)
        down_all
        ;;
    *)
        usage
        ;;
esac
