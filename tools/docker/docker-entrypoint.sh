#!/bin/sh
# docker-entrypoint.sh — the Tessera image's entrypoint, with the official redis image's conventions.
#
#   docker run tessera                          -> tessera-server
#   docker run tessera --port 6381 ...          -> tessera-server --port 6381 ...   (first arg starts with -)
#   docker run tessera /etc/tessera/node.conf   -> tessera-server /etc/tessera/node.conf  (first arg *.conf)
#   docker run tessera redis-server --port 7000 -> tessera-server --port 7000       (alias)
#   docker run tessera redis-cli ... / sh       -> run as given
#
# Owns: the argument rewriting above, ownership of /data, dropping root, the umask.
# Must not: start anything but the given command (tini, PID 1, forwards signals to it);
# touch files outside the working directory (/data).
# Invariants: tessera-server never runs as root when the container starts as root; files in /data are
# owned by `tessera` before it starts; like the official image (built with protected-mode off), the
# server is reachable from other hosts unless the command line or config file says protected-mode.
set -e

# First argument an option or a config file: the command is tessera-server.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- tessera-server "$@"
fi
if [ "$1" = 'redis-server' ]; then
	shift
	set -- tessera-server "$@"
fi

if [ "$1" = 'tessera-server' ] && [ "$(id -u)" = '0' ]; then
	# A mounted volume owned by another uid (a host directory, an old container's) is fixed first.
	find . \! -user tessera -exec chown tessera:tessera '{}' +
	exec setpriv --reuid=tessera --regid=tessera --init-groups "$0" "$@"
fi

if [ "$1" = 'tessera-server' ]; then
	# protected-mode off unless the command line or the config file sets it (the official image's default).
	conf=''
	if [ "${2%.conf}" != "${2:-}" ] && [ -f "$2" ]; then conf="$2"; fi
	case " $* " in
		' tessera-server -v '* | ' tessera-server --version '* | ' tessera-server -h '* | \
		' tessera-server --help '* | ' tessera-server --test-memory '* | *protected-mode*) ;;
		*)
			if [ -z "$conf" ] || ! grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$conf"; then
				set -- "$@" --protected-mode no
			fi
			;;
	esac
fi

# An appropriate umask, unless one was set on purpose.
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
