package config

import "strings"

// Template returns the commented manifest mote init writes for an app called name. Every field
// is shown; those that would change the app's behaviour are commented out.
func Template(name string) []byte {
	return []byte(strings.ReplaceAll(template, "NAME", name))
}

const template = `# mote.yaml: how mote builds and runs the Go main package in this directory
# (mote build, mote run). Flags given on the command line override these values;
# mote build -f FILE and mote run -f FILE read another file instead.

# The image's name: the program's argv[0], the guest's host name, and NAME.img.
name: NAME

# The program's arguments after argv[0]. mote run PKG -- ARGS... replaces them.
# args: ["-addr", ":8080"]

# Environment variables, KEY=VALUE. mote run -e KEY=VALUE adds to and overrides them.
# env:
#   - CONFIG=/etc/NAME/config.json

# Guest memory, at least 8M (default 128M). mote run -m overrides it.
# memory: 256M

# Host ports to publish, as mote run -p: [HOSTIP:]HOSTPORT:GUESTPORT[/udp].
# Used when running, not stored in the image.
# ports:
#   - "8080:8080"

# Volumes, as mote run -v: HOSTDIR:GUESTDIR[:ro] or VOLUME:GUESTDIR.
# Used when running, not stored in the image.
# volumes:
#   - ./data:/data

# Host files and directories to put into the image, SRC:DEST, as mote build --copy.
# A relative SRC is relative to this directory; DEST is an absolute path in the guest
# (not under /proc, /dev, /sys or /tmp). Directories are copied whole, symlinks kept.
# The image's files are read-only: write under /tmp or to a volume.
# copy:
#   - static:/srv/www
#   - config.json:/etc/NAME/config.json

# The program's working directory in the guest (default /). mote run --workdir
# overrides it.
# workdir: /srv
`
