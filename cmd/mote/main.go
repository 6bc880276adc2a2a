// Command mote builds Go programs into unikernel images and runs them under QEMU.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"mote.dev/mote/internal/cli"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	c := &cli.CLI{
		Signals:   sigs,
		In:        os.Stdin,
		Out:       os.Stdout,
		Err:       os.Stderr,
		QEMU:      os.Getenv("MOTE_QEMU"),
		KernelDir: os.Getenv("MOTE_KERNEL_DIR"),
	}
	os.Exit(cli.Main(context.Background(), c, os.Args[1:]))
}
