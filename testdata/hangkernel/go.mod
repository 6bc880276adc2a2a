module mote.dev/mote

go 1.26
