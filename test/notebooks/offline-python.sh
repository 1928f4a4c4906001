#!/usr/bin/env bash
# The project's Python (.venv/bin/python) with the network cut off, for the notebook tests
# (test/notebooks/notebooks.test.ts runs the notebooks through it, as `python` of runNotebooks).
# It runs in a network namespace of its own that holds only the loopback interface, brought up
# here because nbclient talks to the kernels over 127.0.0.1; everything it starts (the executor,
# the tslab kernels, nbconvert) inherits the namespace and can reach no other machine.
# As root: `unshare --net`; otherwise inside a user namespace too (`--map-root-user`), where allowed.
set -euo pipefail
python="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.venv/bin/python"
userns=()
[ "$(id -u)" = 0 ] || userns=(--map-root-user)
# SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP: `ip link set lo up` without needing iproute2.
loopback_up='
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
'
exec unshare --net ${userns[@]+"${userns[@]}"} -- /bin/sh -c \
  'python="$1"; shift; "$python" -c "$0" && exec "$python" "$@"' "$loopback_up" "$python" "$@"
