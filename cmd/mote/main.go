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
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel(cli.Signal{Signal: s.(syscall.Signal)})
	}()
	c := &cli.CLI{
		In:        os.Stdin,
		Out:       os.Stdout,
		Err:       os.Stderr,
		QEMU:      os.Getenv("MOTE_QEMU"),
		KernelDir: os.Getenv("MOTE_KERNEL_DIR"),
	}
	os.Exit(cli.Main(ctx, c, os.Args[1:]))
}
